//! `/api/v1/admin`: the administrators' API. Every operation takes the `AdminUser` extractor (a superuser,
//! else 403 `AUTH_004` "Superuser privileges required"), and every action on a user, session or
//! organization writes an audit event naming the acting admin and the target.

pub mod organizations;
pub mod sessions;
pub mod stats;
pub mod users;

use crate::endpoints::Endpoints;

/// The admin router's operations, one submodule per area.
pub fn routes(r: &mut Endpoints) {
    stats::routes(r);
    users::routes(r);
    organizations::routes(r);
    sessions::routes(r);
}
