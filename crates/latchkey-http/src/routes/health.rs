//! `GET /health`: 200 when the database answers a real query in time, 503 when it does not.
//! The body is the reference's health JSON, not the envelope.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use chrono::SecondsFormat;
use serde::Serialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::state::AppState;

/// `/health`.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_health, health);
}

/// How long the health check waits for the database.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The health report (not the envelope, also on 503).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HealthResponse)]
pub struct Health<'a> {
    /// `healthy` or `unhealthy`.
    #[schema(value_type = String, example = "healthy")]
    status: &'static str,
    timestamp: String,
    #[schema(value_type = String)]
    version: &'a str,
    #[schema(value_type = String, example = "development")]
    environment: &'a str,
    checks: Checks,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Checks {
    database: Check,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    #[schema(value_type = String, example = "healthy")]
    status: &'static str,
    message: String,
}

/// Reports whether the service and its database answer.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The database did not answer in time", body = Health),
    ),
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    // Overlapping checks share one query (`check_database`), which goes through the database gate like every
    // database call, the wait for a slot and a connection bounded by DB_CHECK_TIMEOUT; the outer timeout
    // also bounds a query that hangs.
    let probe = state.services.check_database(DB_CHECK_TIMEOUT);
    // The endpoint is public: the cause (which may name the database's host, port or user) goes to the
    // log only, and the body says the same generic words whatever went wrong.
    let failure = match actix_web::rt::time::timeout(DB_CHECK_TIMEOUT * 2, probe).await {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer within {} s", (DB_CHECK_TIMEOUT * 2).as_secs())),
    };
    let database = match failure {
        None => Check { status: "healthy", message: "Database connection successful".into() },
        Some(cause) => {
            tracing::warn!(cause = %cause, "health check: database unavailable");
            Check { status: "unhealthy", message: "Database connection failed".into() }
        }
    };
    let healthy = database.status == "healthy";
    let body = Health {
        status: if healthy { "healthy" } else { "unhealthy" },
        timestamp: state.services.now().to_rfc3339_opts(SecondsFormat::Micros, true),
        version: &state.config.version,
        environment: &state.config.environment,
        checks: Checks { database },
    };
    if healthy { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
