//! `GET /api/v1/admin/stats`: user growth, organization distribution, registrations and user status, from
//! the database as it is.

use actix_web::{HttpResponse, web};
use latchkey_service::stats;

use crate::endpoints::Endpoints;
use crate::error::ApiError;
use crate::extract::AdminUser;
use crate::responses::StatsResponse;
use crate::routes::run;
use crate::state::AppState;

/// This area's operations.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_stats, stats);
}

/// The dashboard's charts: live users per day over 30 days (and how many of them are active), the six
/// largest organizations by active members, registrations per day over 14 days, active and inactive
/// users. UTC days, oldest first, dates as `Nov 28`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/stats",
    tag = "admin",
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "The figures", body = StatsResponse)),
)]
pub async fn stats(state: web::Data<AppState>, admin: AdminUser) -> Result<HttpResponse, ApiError> {
    let stats = run(&state, move |svc| stats::stats(svc, &admin)).await?;
    Ok(HttpResponse::Ok().json(StatsResponse::from(stats)))
}
