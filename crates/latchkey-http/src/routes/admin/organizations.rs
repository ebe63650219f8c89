//! `/api/v1/admin/organizations`: list, create, read, update, delete, and members (list, add, remove).

use crate::routes::Endpoints;

/// This area's operations: `r.add(__path_<handler>, <handler>)` for each (see `routes::Endpoints`).
pub fn routes(_r: &mut Endpoints) {}
