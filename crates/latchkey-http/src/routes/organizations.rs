//! `/api/v1/organizations`: the caller's organizations, one organization, its members, and its update.
//! Any active member reads, owners and admins manage, a superuser may do anything
//! (`latchkey_service::authz::check_org_role`).

use crate::routes::Endpoints;

/// The organizations router's operations: `r.add(__path_<handler>, <handler>)` for each (see
/// `routes::Endpoints`).
pub fn routes(_r: &mut Endpoints) {}
