//! Repositories: one module per table, plain functions over `&mut AnyConnection`. Transactions belong
//! to the caller (the service layer).
//!
//! Lookups by a unique key use `get_result`, never `first`: `first` adds `LIMIT ?`, and SQLite treats a
//! bound LIMIT as a value that may change the query plan, so it recompiles the cached statement on every
//! execution (measured: the auth check's session+user query took 93 µs with `first`, 26 µs without).

use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

use crate::connection::AnyConnection;
use crate::error::DbError;

/// The columns a list can be sorted by, each with its name in the API, declared once: the enum, `ALL`
/// (in declaration order), `NAMES` (the API names, in the same order), `as_str` and `parse` all come
/// from the one list.
macro_rules! sort_columns {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $api:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every column, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The columns' names in the API (and the table), in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($api,)+];

            /// The column's name in the API (and the table).
            pub const fn as_str(self) -> &'static str {
                Self::NAMES[self as usize]
            }

            /// The column with this API name.
            pub fn parse(name: &str) -> Option<$name> {
                Self::NAMES.iter().position(|n| *n == name).map(|i| Self::ALL[i])
            }
        }
    };
}
pub(crate) use sort_columns;

pub mod alerts;
pub mod events;
pub mod organizations;
pub mod sessions;
pub mod stats;
pub mod throttle;
pub mod users;

/// A write whose SQL text is the same on every call, kept prepared on its connection.
///
/// Diesel prepares no `UPDATE` (nor an `INSERT` with optional columns) once for all: as a changeset may
/// skip its `None` fields, their SQL can change from call to call, so diesel marks them unsafe to cache
/// and sends them as unnamed statements, which PostgreSQL parses and plans on every execution. That was
/// most of PostgreSQL's CPU time in a refresh (`base_yyparse`, the planner, in `perf`). This wrapper
/// says the statement may be cached; diesel then keys the cache by the statement's SQL text (the wrapper
/// has no static query id), so a statement whose text did change would only be prepared once more, never
/// mistaken for another. Wrap only statements whose text is fixed, or the cache grows with each variant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prepared<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for Prepared<Q> {}

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

impl Window {
    /// Reads one page: `count` counts the rows across all pages, then `load` reads this window of them. A
    /// window that starts at or past the last row is empty without a second query.
    pub(crate) fn read<T, C, L>(
        self,
        conn: &mut AnyConnection,
        count: impl FnOnce(&mut AnyConnection) -> Result<i64, C>,
        load: impl FnOnce(&mut AnyConnection) -> Result<Vec<T>, L>,
    ) -> Result<Page<T>, DbError>
    where
        DbError: From<C> + From<L>,
    {
        let total = count(conn)?;
        if total <= self.offset {
            return Ok(Page { items: Vec::new(), total });
        }
        Ok(Page { items: load(conn)?, total })
    }
}

/// One batch of a cleanup's delete: `select` reads the keys of up to a batch of rows past their retention,
/// then `delete` deletes the rows with those keys (checking the condition again where a row could have
/// changed in between); returns how many. Each batch is short, so writers are never held up for long.
pub(crate) fn delete_batch<K>(
    conn: &mut AnyConnection,
    select: impl FnOnce(&mut AnyConnection) -> QueryResult<Vec<K>>,
    delete: impl FnOnce(&mut AnyConnection, &[K]) -> QueryResult<usize>,
) -> Result<usize, DbError> {
    let keys = select(conn)?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(delete(conn, &keys)?)
}

#[cfg(test)]
mod tests {
    use super::organizations::OrgSortColumn;
    use super::users::UserSortColumn;

    #[test]
    fn a_sort_column_and_its_api_name_go_both_ways() {
        for (i, column) in UserSortColumn::ALL.iter().enumerate() {
            assert_eq!(column.as_str(), UserSortColumn::NAMES[i]);
            assert_eq!(UserSortColumn::parse(column.as_str()), Some(*column));
        }
        assert_eq!(UserSortColumn::LastName.as_str(), "last_name");
        assert_eq!(OrgSortColumn::parse("slug"), Some(OrgSortColumn::Slug));
        assert_eq!(OrgSortColumn::parse("Slug"), None);
        assert_eq!(OrgSortColumn::NAMES.len(), 4);
    }
}
