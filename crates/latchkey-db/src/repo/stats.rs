//! Figures for the admin dashboard that span tables.

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::connection::AnyConnection;
use crate::error::DbError;
use crate::schema::{organizations as o, user_organizations as m};

/// The `limit` organizations with the most active memberships, largest first (ties by name), as
/// `(name, members)`. One grouped query.
pub fn organization_distribution(conn: &mut AnyConnection, limit: i64) -> Result<Vec<(String, i64)>, DbError> {
    Ok(m::table
        .inner_join(o::table)
        .filter(m::is_active.eq(true))
        .group_by((o::id, o::name))
        .select((o::name, count_star()))
        .order((count_star().desc(), o::name.asc()))
        .limit(limit)
        .load(conn)?)
}
