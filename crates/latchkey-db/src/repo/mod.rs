//! Repositories: one module per table, plain functions over `&mut AnyConnection`. Transactions belong
//! to the caller (the service layer).
//!
//! Lookups by a unique key use `get_result`, never `first`: `first` adds `LIMIT ?`, and SQLite treats a
//! bound LIMIT as a value that may change the query plan, so it recompiles the cached statement on every
//! execution (measured: the auth check's session+user query took 93 µs with `first`, 26 µs without).

pub mod events;
pub mod organizations;
pub mod sessions;
pub mod stats;
pub mod throttle;
pub mod users;

/// One page of rows plus the total count across all pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// An offset/limit window; `limit` is capped at [`Window::MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub limit: i64,
}

impl From<latchkey_domain::list::PageRequest> for Window {
    /// The rows of a checked page request (the domain bounds page and limit, so this cannot overflow).
    fn from(p: latchkey_domain::list::PageRequest) -> Self {
        Window { offset: p.offset(), limit: i64::from(p.limit()) }
    }
}

impl Window {
    /// The largest page a repository will return.
    pub const MAX_LIMIT: i64 = 1000;

    /// The window for 1-based `page` of size `limit`.
    pub fn page(page: u32, limit: u32) -> Window {
        let limit = i64::from(limit).clamp(1, Self::MAX_LIMIT);
        Window { offset: i64::from(page.max(1) - 1) * limit, limit }
    }
}
