//! Request extractors: who is calling (`AuthUser`, `AdminUser`) and from where (`ClientInfo`).

pub mod auth_user;
pub mod client;

pub use auth_user::{AdminUser, AuthUser, Bearer};
pub use client::{ClientInfo, client_ip, request_ip};
