//! latchkey-domain: the types and rules of the product, with no I/O — email addresses, the password
//! policy, phone numbers, locales, device names, session lifetimes, roles, the clock abstraction and
//! `DomainError`.
//!
//! It must never depend on diesel, actix or tokio (a test in latchkey-http checks with `cargo tree`).

pub mod clock;
pub mod device;
pub mod email;
pub mod error;
pub mod list;
pub mod locale;
pub mod org;
pub mod password;
pub mod phone;
pub mod session;

pub use clock::{Clock, ManualClock, SystemClock};
pub use device::{DeviceInfo, DeviceParser, truncate_user_agent, validate_device_id};
pub use email::Email;
pub use error::DomainError;
pub use locale::normalize_locale;
pub use org::{Role, validate_org_name, validate_slug};
pub use password::{Password, validate_password, validate_password_as};
pub use phone::normalize_phone;
pub use session::{RevokeReason, SecurityEventKind, SessionLifetimes};
