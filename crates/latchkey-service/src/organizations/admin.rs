//! Organizations as a superuser manages them (`/admin/organizations`): list, create, read, update, delete,
//! and their members added and removed, each change recorded in the audit trail.

use chrono::{DateTime, Utc};
use latchkey_db::models::{NewOrg, OrgRow};
use latchkey_db::repo::organizations::{self as orgs, AddOutcome, OrgFilter, OrgSortColumn, RemoveOutcome};
use latchkey_db::repo::users;
use latchkey_db::{AnyConnection, Id, Json, Ts, write_transaction};
use latchkey_domain::list::{PageRequest, Sort, SortOrder};
use latchkey_domain::{Role, SecurityEventKind};
use serde_json::Value;

use super::{
    OrganizationUpdate, apply_update, changes_for, check_content, check_name_and_slug, find_org, members_page,
    one_with_count, org_not_found, organization, slug_taken, with_counts,
};
use crate::accounts::user_not_found;
use crate::authz::SUPERUSER_REQUIRED;
use crate::caller::{Authenticated, Caller, Superuser, as_superuser};
use crate::error::{ConflictKind, ServiceError};
use crate::events::Audit;
use crate::services::Services;
use crate::views::{Member, Organization, Page};

/// The columns the admin organization list sorts by (`sort_by`).
pub const SORT_COLUMNS: &[&str] = OrgSortColumn::NAMES;
/// The admin organization list's order when the client names none: newest first, as the reference.
pub const DEFAULT_SORT: Sort = Sort { column: OrgSortColumn::CreatedAt.as_str(), order: SortOrder::Desc };

/// `OrganizationCreate`, as submitted.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_active: bool,
    /// A JSON object; `None` stores NULL.
    pub settings: Option<Value>,
}

/// What the admin organization list shows: `is_active` filters on the organization, `search` matches
/// name, slug or description in any case, `sort` is one of [`SORT_COLUMNS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminListFilter {
    pub is_active: Option<bool>,
    pub search: Option<String>,
    pub sort: Sort,
}

/// `GET /admin/organizations`: one page, with member counts from one grouped query.
pub fn admin_list(
    svc: &Services,
    door: &Authenticated,
    filter: &AdminListFilter,
    page: PageRequest,
) -> Result<Page<Organization>, ServiceError> {
    let column = OrgSortColumn::parse(filter.sort.column).unwrap_or(OrgSortColumn::CreatedAt);
    let db_filter = OrgFilter {
        is_active: filter.is_active,
        search: filter.search.as_deref(),
        sort: column,
        descending: filter.sort.order.is_desc(),
    };
    as_superuser(&svc.db, svc.now(), door, SUPERUSER_REQUIRED, |c, _| {
        let rows = orgs::list(c, &db_filter, page.into())?;
        Ok(Page { items: with_counts(c, rows.items)?, total: rows.total })
    })
}

/// `POST /admin/organizations`.
pub fn admin_create(svc: &Services, door: &Authenticated, new: NewOrganization) -> Result<Organization, ServiceError> {
    let (name, slug) = check_name_and_slug(Some(&new.name), Some(&new.slug))?;
    check_content(new.description.as_deref(), new.settings.as_ref())?;
    let (name, slug) = (name.unwrap_or_default(), slug.unwrap_or_default());
    let now = svc.now();
    let row = NewOrg {
        id: Id(uuid::Uuid::new_v4()),
        name,
        slug,
        description: new.description,
        is_active: new.is_active,
        settings: new.settings.map(Json),
        created_at: Ts(now),
        updated_at: Ts(now),
    };
    let org = admin_change(svc, door, now, |c, admin| {
        let org = orgs::create(c, &row)
            .map_err(|e| if orgs::is_slug_conflict(&e) { slug_taken(&row.slug) } else { e.into() })?;
        let detail = serde_json::json!({"slug": org.slug});
        audit(c, now, admin, SecurityEventKind::OrganizationCreated, &org, None, detail)?;
        Ok(org)
    })?;
    Ok(organization(org, 0))
}

/// `GET /admin/organizations/{id}`.
pub fn admin_get(svc: &Services, door: &Authenticated, org_id: uuid::Uuid) -> Result<Organization, ServiceError> {
    as_superuser(&svc.db, svc.now(), door, SUPERUSER_REQUIRED, |c, _| {
        let org = find_org(c, org_id)?;
        one_with_count(c, org)
    })
}

/// `PUT /admin/organizations/{id}`.
pub fn admin_update(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    update: OrganizationUpdate,
) -> Result<Organization, ServiceError> {
    let now = svc.now();
    let changes = changes_for(&update, now)?;
    let fields: Vec<&str> = [
        ("name", update.name.is_some()),
        ("slug", update.slug.is_some()),
        ("description", update.description.is_some()),
        ("is_active", update.is_active.is_some()),
        ("settings", update.settings.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, set)| set.then_some(f))
    .collect();
    admin_change(svc, door, now, |c, admin| {
        let org = apply_update(c, org_id, &changes)?;
        let detail = serde_json::json!({"fields": fields});
        audit(c, now, admin, SecurityEventKind::OrganizationUpdated, &org, None, detail)?;
        one_with_count(c, org)
    })
}

/// `DELETE /admin/organizations/{id}`: deletes the organization and its memberships; returns its name.
pub fn admin_delete(svc: &Services, door: &Authenticated, org_id: uuid::Uuid) -> Result<String, ServiceError> {
    let now = svc.now();
    admin_change(svc, door, now, |c, admin| {
        let org = find_org(c, org_id)?;
        let detail = serde_json::json!({"slug": org.slug});
        audit(c, now, admin, SecurityEventKind::OrganizationDeleted, &org, None, detail)?;
        if !orgs::delete(c, org_id)? {
            return Err(org_not_found(org_id));
        }
        Ok(org.name)
    })
}

/// `GET /admin/organizations/{id}/members`: 404 when the organization does not exist.
pub fn admin_members(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    membership_active: bool,
    page: PageRequest,
) -> Result<Page<Member>, ServiceError> {
    as_superuser(&svc.db, svc.now(), door, SUPERUSER_REQUIRED, |c, _| {
        find_org(c, org_id)?;
        members_page(orgs::list_members(c, org_id, Some(membership_active), page.into())?)
    })
}

/// Who was added to or removed from which organization, for the response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    pub email: String,
    pub organization_name: String,
}

/// `POST /admin/organizations/{id}/members`: adds the user with `role`, or brings back their removed
/// membership with it. An active member is 409 `USER_002` (field `user_id`).
pub fn admin_add_member(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
    role: Role,
) -> Result<MembershipChange, ServiceError> {
    let now = svc.now();
    admin_change(svc, door, now, |c, admin| {
        let org = find_org(c, org_id)?;
        let user =
            users::find_by_id(c, user_id)?.filter(|u| u.deleted_at.is_none()).ok_or_else(|| user_not_found(user_id))?;
        // An active membership makes the insert fail on the primary key (so two concurrent adds cannot
        // both win); the transaction then rolls back with the 409, before anything else is written.
        let outcome = orgs::add_member(c, org_id, user_id, role, Ts(now)).map_err(|e| {
            if orgs::is_member_conflict(&e) {
                ServiceError::Conflict {
                    kind: ConflictKind::Membership,
                    message: "User is already a member of this organization".into(),
                    field: Some("user_id"),
                }
            } else {
                e.into()
            }
        })?;
        let detail = serde_json::json!({"role": role.as_str(), "reactivated": outcome == AddOutcome::Reactivated});
        audit(c, now, admin, SecurityEventKind::MemberAdded, &org, Some(user_id), detail)?;
        Ok(MembershipChange { email: user.email, organization_name: org.name })
    })
}

/// `DELETE /admin/organizations/{id}/members/{user_id}`: removes (deactivates) the membership. Removing
/// a removed member succeeds again; a user who never was a member is 404.
pub fn admin_remove_member(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    user_id: uuid::Uuid,
) -> Result<MembershipChange, ServiceError> {
    let now = svc.now();
    admin_change(svc, door, now, |c, admin| {
        let org = find_org(c, org_id)?;
        let user = users::find_by_id(c, user_id)?.ok_or_else(|| user_not_found(user_id))?;
        match orgs::remove_member(c, org_id, user_id, Ts(now))? {
            RemoveOutcome::NotMember => {
                return Err(ServiceError::NotFound("User is not a member of this organization".into()));
            }
            RemoveOutcome::AlreadyRemoved => {}
            RemoveOutcome::Removed => {
                audit(c, now, admin, SecurityEventKind::MemberRemoved, &org, Some(user_id), serde_json::json!({}))?;
            }
        }
        Ok(MembershipChange { email: user.email, organization_name: org.name })
    })
}

/// Runs a superuser's change at `now` in one write transaction: the caller is re-admitted and must be a
/// superuser now (403 `AUTH_004` otherwise), then `change` runs with that capability.
fn admin_change<T>(
    svc: &Services,
    door: &Authenticated,
    now: DateTime<Utc>,
    change: impl FnOnce(&mut AnyConnection, &Superuser<'_>) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| {
        let caller = Caller::readmit(c, door, now)?;
        change(c, &caller.superuser(SUPERUSER_REQUIRED)?)
    })
}

/// Records an admin action on an organization (and, for memberships, on a user) in the audit trail.
fn audit(
    c: &mut AnyConnection,
    now: DateTime<Utc>,
    admin: &Superuser<'_>,
    kind: SecurityEventKind,
    org: &OrgRow,
    target_user: Option<uuid::Uuid>,
    mut detail: Value,
) -> Result<(), ServiceError> {
    // The organization's name goes into the detail: a deleted organization's row is gone, its trail is not.
    if let Value::Object(map) = &mut detail {
        map.insert("organization_name".into(), Value::String(org.name.clone()));
    }
    let mut event = Audit::by(admin).organization(org.id.0);
    if let Some(user) = target_user {
        event = event.user(user);
    }
    event.record(c, now, kind, Some(detail))
}
