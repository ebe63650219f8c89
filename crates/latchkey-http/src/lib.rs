//! latchkey-http: the thin actix-web shell around `latchkey-service` — routes, extractors, the error
//! envelope, middleware — and the `latchkey` binary's commands.
//!
//! Handlers parse, call one service function on the blocking pool, and render; they hold no business
//! rules. Nothing below this crate may depend on actix.

pub mod app;
pub mod body;
pub mod cli;
pub mod endpoints;
pub mod error;
pub mod extract;
pub mod input_rules;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod proxies;
pub mod pydantic;
pub mod rate_limit;
pub mod responses;
pub mod routes;
pub mod server;
pub mod state;
pub mod telemetry;

pub use app::build_app;
pub use state::AppState;
