//! Organizations: the members' view (`/organizations`, with the role rules) and the superuser's
//! (`/admin/organizations`, with the audit trail).
//!
//! Role rules (reference §1.6): a superuser may do anything; otherwise the caller's *active* membership
//! decides, and it is checked before the organization's existence, so a non-member learns nothing about
//! whether an organization exists. Any active role reads; owners and admins update.

use std::collections::HashMap;

use latchkey_db::models::{NewOrg, OrgChanges, OrgRow};
use latchkey_db::repo::organizations::{self as orgs, AddOutcome, MemberRow, OrgFilter, OrgSortColumn, RemoveOutcome};
use latchkey_db::repo::users;
use latchkey_db::{AnyConnection, DbError, Id, Json, Ts, write_transaction};
use latchkey_domain::list::{PageRequest, Sort, SortOrder};
use latchkey_domain::{DomainError, Role, SecurityEventKind, validate_org_name, validate_slug};
use serde_json::Value;

use crate::audit::Audit;
use crate::auth::Authenticated;
use crate::authz::{ORG_MANAGERS, ORG_READERS, SUPERUSER_REQUIRED};
use crate::caller::{Caller, Superuser, as_superuser};
use crate::error::ServiceError;
use crate::services::Services;
use crate::views::{Member, Organization, Page};

/// The columns the admin organization list sorts by (`sort_by`).
pub const SORT_COLUMNS: &[&str] = &["created_at", "updated_at", "name", "slug"];
/// The admin organization list's order when the client names none: newest first, as the reference.
pub const DEFAULT_SORT: Sort = Sort { column: "created_at", order: SortOrder::Desc };

fn organization(org: OrgRow, member_count: i64) -> Organization {
    Organization {
        id: org.id.0,
        name: org.name,
        slug: org.slug,
        description: org.description,
        is_active: org.is_active,
        settings: org.settings.map(|s| s.0),
        created_at: org.created_at.0,
        updated_at: org.updated_at.0,
        member_count,
    }
}

fn member(row: MemberRow) -> Result<Member, ServiceError> {
    let role = row
        .role
        .parse::<Role>()
        .map_err(|_| ServiceError::Internal(format!("membership with unknown role '{}'", row.role)))?;
    Ok(Member {
        user_id: row.user_id.0,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        role,
        is_active: row.is_active,
        joined_at: row.joined_at.0,
    })
}

fn members_page(page: latchkey_db::repo::Page<MemberRow>) -> Result<Page<Member>, ServiceError> {
    Ok(Page { items: page.items.into_iter().map(member).collect::<Result<_, _>>()?, total: page.total })
}

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

/// `OrganizationUpdate`: `None` leaves a field alone; for nullable fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub settings: Option<Option<Value>>,
}

fn org_not_found(id: uuid::Uuid) -> ServiceError {
    ServiceError::NotFound(format!("Organization {id} not found"))
}

fn user_not_found(id: uuid::Uuid) -> ServiceError {
    ServiceError::NotFound(format!("User {id} not found"))
}

fn slug_taken(slug: &str) -> ServiceError {
    ServiceError::conflict(format!("Organization with slug '{slug}' already exists"))
}

/// Collects every broken rule of a name and a slug.
fn check_name_and_slug(
    name: Option<&str>,
    slug: Option<&str>,
) -> Result<(Option<String>, Option<String>), ServiceError> {
    let mut errors: Vec<DomainError> = Vec::new();
    let name = name.map(validate_org_name).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let slug = slug.map(validate_slug).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if errors.is_empty() { Ok((name, slug)) } else { Err(ServiceError::Validation(errors)) }
}

/// Adds member counts to a page of organizations with one grouped query.
fn with_counts(conn: &mut AnyConnection, rows: Vec<OrgRow>) -> Result<Vec<Organization>, ServiceError> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|o| o.id.0).collect();
    let counts: HashMap<uuid::Uuid, i64> = orgs::member_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|org| {
            let member_count = counts.get(&org.id.0).copied().unwrap_or(0);
            organization(org, member_count)
        })
        .collect())
}

fn one_with_count(conn: &mut AnyConnection, org: OrgRow) -> Result<Organization, ServiceError> {
    let member_count = orgs::member_counts(conn, &[org.id.0])?.get(&org.id.0).copied().unwrap_or(0);
    Ok(organization(org, member_count))
}

// --- /organizations ---------------------------------------------------------------------------------

/// `GET /organizations/me`: the organizations where the caller's membership is active (`true`) or
/// removed (`false`), inactive organizations included. A former member sees what identifies the
/// organization (name, slug, dates, member count), not what it writes after they left: `settings` is `{}`
/// and `description` `null` in those entries.
pub fn list_mine(
    svc: &Services,
    caller: &Authenticated,
    membership_active: bool,
) -> Result<Vec<Organization>, ServiceError> {
    let mut conn = svc.db.conn()?;
    let rows = orgs::list_for_member(&mut conn, caller.user_id(), membership_active)?;
    let mut list = with_counts(&mut conn, rows)?;
    if !membership_active {
        for org in &mut list {
            org.settings = Some(Value::Object(serde_json::Map::new()));
            org.description = None;
        }
    }
    Ok(list)
}

/// `GET /organizations/{id}`: any active member, or a superuser.
pub fn get(svc: &Services, door: &Authenticated, org_id: uuid::Uuid) -> Result<Organization, ServiceError> {
    let mut conn = svc.db.conn()?;
    let caller = Caller::current(&mut conn, door, svc.now())?;
    caller.org_role(&mut conn, org_id, ORG_READERS)?;
    let org = orgs::find_by_id(&mut conn, org_id)?.ok_or_else(|| org_not_found(org_id))?;
    one_with_count(&mut conn, org)
}

/// `GET /organizations/{id}/members`: any active member, or a superuser. As in the reference, a
/// superuser asking about an organization that does not exist gets an empty page.
pub fn members(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    membership_active: bool,
    page: PageRequest,
) -> Result<Page<Member>, ServiceError> {
    let mut conn = svc.db.conn()?;
    let caller = Caller::current(&mut conn, door, svc.now())?;
    caller.org_role(&mut conn, org_id, ORG_READERS)?;
    members_page(orgs::list_members(&mut conn, org_id, Some(membership_active), page.into())?)
}

/// The refusal of an organization's `is_active` change by anyone but a superuser.
pub const ONLY_SUPERUSER_ACTIVATES: &str = "Only a superuser can activate or deactivate an organization";

/// `PUT /organizations/{id}`: owners and admins, or a superuser; only a superuser changes `is_active` (an
/// owner must not undo a superuser's suspension).
pub fn update(
    svc: &Services,
    door: &Authenticated,
    org_id: uuid::Uuid,
    update: OrganizationUpdate,
) -> Result<Organization, ServiceError> {
    let now = svc.now();
    let changes = changes_for(&update, now)?;
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<Organization, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let role = caller.org_role(c, org_id, ORG_MANAGERS)?;
        if changes.is_active.is_some() && !role.is_superuser() {
            return Err(ServiceError::Forbidden(ONLY_SUPERUSER_ACTIVATES.into()));
        }
        let org = apply_update(c, org_id, &changes)?;
        one_with_count(c, org)
    })
}

fn changes_for(update: &OrganizationUpdate, now: chrono::DateTime<chrono::Utc>) -> Result<OrgChanges, ServiceError> {
    let (name, slug) = check_name_and_slug(update.name.as_deref(), update.slug.as_deref())?;
    check_content(
        update.description.as_ref().and_then(Option::as_deref),
        update.settings.as_ref().and_then(Option::as_ref),
    )?;
    Ok(OrgChanges {
        name,
        slug,
        description: update.description.clone(),
        is_active: update.is_active,
        settings: update.settings.clone().map(|s| s.map(Json)),
        updated_at: Ts(now),
    })
}

/// The longest `description` accepted, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// What an organization writes for its members is bounded: `description` at most
/// [`DESCRIPTION_MAX_CHARS`], `settings` like a user's `preferences` (16 KiB of JSON, 8 levels).
fn check_content(description: Option<&str>, settings: Option<&Value>) -> Result<(), ServiceError> {
    let mut errors = Vec::new();
    if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS) {
        errors.push(DomainError::constraint(
            "description",
            format!("String should have at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    if let Some(Err(e)) = settings.map(|s| crate::users::check_json_store("settings", "Settings", s)) {
        errors.push(e);
    }
    if errors.is_empty() { Ok(()) } else { Err(ServiceError::Validation(errors)) }
}

/// Updates inside the caller's transaction; maps a taken slug to 409.
fn apply_update(c: &mut AnyConnection, org_id: uuid::Uuid, changes: &OrgChanges) -> Result<OrgRow, ServiceError> {
    orgs::update(c, org_id, changes).map_err(|e| match e {
        DbError::NotFound => org_not_found(org_id),
        e if orgs::is_slug_conflict(&e) => slug_taken(changes.slug.as_deref().unwrap_or_default()),
        e => e.into(),
    })
}

// --- /admin/organizations ---------------------------------------------------------------------------

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
    let column = match filter.sort.column {
        "updated_at" => OrgSortColumn::UpdatedAt,
        "name" => OrgSortColumn::Name,
        "slug" => OrgSortColumn::Slug,
        _ => OrgSortColumn::CreatedAt,
    };
    let db_filter = OrgFilter {
        is_active: filter.is_active,
        search: filter.search.as_deref(),
        sort: column,
        descending: filter.sort.order.is_desc(),
    };
    as_superuser(svc, door, SUPERUSER_REQUIRED, |c, _| {
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
    let mut conn = svc.db.conn()?;
    let org = write_transaction(&mut conn, |c| -> Result<OrgRow, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(SUPERUSER_REQUIRED)?;
        let org = orgs::create(c, &row)
            .map_err(|e| if orgs::is_slug_conflict(&e) { slug_taken(&row.slug) } else { e.into() })?;
        let detail = serde_json::json!({"slug": org.slug});
        audit(c, now, &admin, SecurityEventKind::OrganizationCreated, &org, None, detail)?;
        Ok(org)
    })?;
    Ok(organization(org, 0))
}

/// `GET /admin/organizations/{id}`.
pub fn admin_get(svc: &Services, door: &Authenticated, org_id: uuid::Uuid) -> Result<Organization, ServiceError> {
    as_superuser(svc, door, SUPERUSER_REQUIRED, |c, _| {
        let org = orgs::find_by_id(c, org_id)?.ok_or_else(|| org_not_found(org_id))?;
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
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<Organization, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(SUPERUSER_REQUIRED)?;
        let org = apply_update(c, org_id, &changes)?;
        let detail = serde_json::json!({"fields": fields});
        audit(c, now, &admin, SecurityEventKind::OrganizationUpdated, &org, None, detail)?;
        one_with_count(c, org)
    })
}

/// `DELETE /admin/organizations/{id}`: deletes the organization and its memberships; returns its name.
pub fn admin_delete(svc: &Services, door: &Authenticated, org_id: uuid::Uuid) -> Result<String, ServiceError> {
    let now = svc.now();
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<String, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(SUPERUSER_REQUIRED)?;
        let org = orgs::find_by_id(c, org_id)?.ok_or_else(|| org_not_found(org_id))?;
        let detail = serde_json::json!({"slug": org.slug});
        audit(c, now, &admin, SecurityEventKind::OrganizationDeleted, &org, None, detail)?;
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
    as_superuser(svc, door, SUPERUSER_REQUIRED, |c, _| {
        orgs::find_by_id(c, org_id)?.ok_or_else(|| org_not_found(org_id))?;
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
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<MembershipChange, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(SUPERUSER_REQUIRED)?;
        let org = orgs::find_by_id(c, org_id)?.ok_or_else(|| org_not_found(org_id))?;
        let user =
            users::find_by_id(c, user_id)?.filter(|u| u.deleted_at.is_none()).ok_or_else(|| user_not_found(user_id))?;
        // An active membership makes the insert fail on the primary key (so two concurrent adds cannot
        // both win); the transaction then rolls back with the 409, before anything else is written.
        let outcome = orgs::add_member(c, org_id, user_id, role, Ts(now)).map_err(|e| {
            if orgs::is_member_conflict(&e) {
                ServiceError::Conflict {
                    code: "USER_002",
                    message: "User is already a member of this organization".into(),
                    field: Some("user_id"),
                }
            } else {
                e.into()
            }
        })?;
        let detail = serde_json::json!({"role": role.as_str(), "reactivated": outcome == AddOutcome::Reactivated});
        audit(c, now, &admin, SecurityEventKind::MemberAdded, &org, Some(user_id), detail)?;
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
    let mut conn = svc.db.conn()?;
    write_transaction(&mut conn, |c| -> Result<MembershipChange, ServiceError> {
        let caller = Caller::readmit(c, door, now)?;
        let admin = caller.superuser(SUPERUSER_REQUIRED)?;
        let org = orgs::find_by_id(c, org_id)?.ok_or_else(|| org_not_found(org_id))?;
        let user = users::find_by_id(c, user_id)?.ok_or_else(|| user_not_found(user_id))?;
        match orgs::remove_member(c, org_id, user_id, Ts(now))? {
            RemoveOutcome::NotMember => {
                return Err(ServiceError::NotFound("User is not a member of this organization".into()));
            }
            RemoveOutcome::AlreadyRemoved => {}
            RemoveOutcome::Removed => {
                audit(c, now, &admin, SecurityEventKind::MemberRemoved, &org, Some(user_id), serde_json::json!({}))?;
            }
        }
        Ok(MembershipChange { email: user.email, organization_name: org.name })
    })
}

/// Records an admin action on an organization (and, for memberships, on a user) in the audit trail.
fn audit(
    c: &mut AnyConnection,
    now: chrono::DateTime<chrono::Utc>,
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
