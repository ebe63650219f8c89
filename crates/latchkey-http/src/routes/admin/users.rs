//! `/api/v1/admin/users`: list, search, create, read, update, delete, activate, deactivate, bulk actions, and a user's sessions.

use crate::routes::Endpoints;

/// This area's operations: `r.add(__path_<handler>, <handler>)` for each (see `routes::Endpoints`).
pub fn routes(_r: &mut Endpoints) {}
