//! Organizations as their members see them (`/organizations`): one's own, one organization, its members,
//! and an update by its owners and admins. The caller's role is checked before the organization's
//! existence (see [`crate::caller::Caller::org_role`]).

use latchkey_db::repo::organizations as orgs;
use latchkey_db::write_transaction;
use latchkey_domain::list::PageRequest;
use serde_json::Value;

use super::{OrganizationUpdate, apply_update, changes_for, find_org, members_page, one_with_count, with_counts};
use crate::authz::{ORG_MANAGERS, ORG_READERS};
use crate::caller::{Authenticated, Caller};
use crate::error::ServiceError;
use crate::services::Services;
use crate::views::{Member, Organization, Page};

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
    let org = find_org(&mut conn, org_id)?;
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
