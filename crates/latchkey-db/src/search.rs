//! Case-insensitive substring search, the same on both backends: the `lk_lower` SQL function the list
//! filters lower-case a column with, the `LIKE` pattern they match it against, and the registration of
//! `lk_lower` on each SQLite connection.

use diesel::prelude::*;

diesel::define_sql_function! {
    /// Lower-casing for case-insensitive search. On PostgreSQL it is `lower()` (a migration defines it);
    /// SQLite's own `lower()` folds ASCII only, so there every pooled connection registers Rust's
    /// `str::to_lowercase` under this name ([`register_sqlite_functions`]).
    fn lk_lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Registers the SQL functions the repositories' queries use on a SQLite connection.
pub(crate) fn register_sqlite_functions(conn: &mut SqliteConnection) -> QueryResult<()> {
    lk_lower_utils::register_impl(conn, |s: Option<String>| s.map(|s| s.to_lowercase()))
}

/// Escapes `%`, `_` and the escape character itself, so a search term matches literally inside `LIKE`.
pub(crate) fn like_contains(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for ch in term.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}
