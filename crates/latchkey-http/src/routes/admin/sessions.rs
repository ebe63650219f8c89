//! `/api/v1/admin/sessions`: every user's sessions, and revoking any one of them.

use crate::routes::Endpoints;

/// This area's operations: `r.add(__path_<handler>, <handler>)` for each (see `routes::Endpoints`).
pub fn routes(_r: &mut Endpoints) {}
