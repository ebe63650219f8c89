//! latchkey-http: the thin actix-web shell around `latchkey-service` — routes, extractors, the error
//! envelope, middleware — and the `latchkey` binary's commands.
//!
//! Handlers parse, call one service function on the blocking pool, and render; they hold no business
//! rules. Nothing below this crate may depend on actix.
//!
//! The modules import one way (the tidy test refuses a circle), from the leaves up:
//! - leaves, importing nothing of the crate: `endpoints` (the route registry), `pydantic` (the
//!   reference's wording), `input_rules` (control and bidirectional characters), `proxies` (the client IP
//!   behind trusted proxies), `responses` (the response bodies), `settings` (the server's own settings,
//!   declared beside the service's: what `latchkey serve --help` lists);
//! - `telemetry` (logging, in `settings`' format), `error` (the envelope), `body` (reading bodies: deadline, budget, size), `rate_limit` (the per-route
//!   limiters), `openapi` (the document of a registry);
//! - `state` (what every handler sees, given its limiters and body budget);
//! - `extract` (who calls, from where, and what they send), `middleware`;
//! - `routes` (the handlers, `routes::all` filling the registry, `routes::docs` serving the document),
//!   `metrics`;
//! - `app` (the state with its limiters, the middleware stack, the routes), `server`, `cli`.

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
pub mod settings;
pub mod state;
pub mod telemetry;

pub use app::build_app;
pub use state::AppState;
