//! Request extractors: who is calling (`AuthUser`, `AdminUser`), from where (`ClientInfo`), and what
//! they send: bodies (`Json`, `Form`, `LaterJson`), list queries (`List`) and UUIDs, every malformed
//! input answered in the envelope with the reference's (pydantic's) wording.

pub mod auth_user;
pub mod body;
pub mod client;
pub mod list;
mod scan;
pub mod uuid;

pub use auth_user::{AdminUser, AuthUser, Bearer};
pub use body::{Body, Form, Json, LaterJson, nullable};
pub use client::{ClientInfo, request_ip};
pub use list::{List, ListSpec, PageOnly, PageParams, SortParams};
pub use uuid::{BodyUuid, parse_uuid};
