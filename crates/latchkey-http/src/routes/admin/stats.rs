//! `GET /api/v1/admin/stats`: user growth, organization distribution, registrations and user status, from real figures.

use crate::routes::Endpoints;

/// This area's operations: `r.add(__path_<handler>, <handler>)` for each (see `routes::Endpoints`).
pub fn routes(_r: &mut Endpoints) {}
