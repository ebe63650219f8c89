//! Lists: which page, how sorted, searched and filtered (the reference's §8), with pydantic's messages
//! for values out of range. The HTTP layer reads these from the query string; repositories turn them
//! into `OFFSET`/`LIMIT`/`ORDER BY`.

use crate::error::DomainError;

/// Items per page when the client does not say.
pub const DEFAULT_LIMIT: u32 = 20;
/// The most items a page may hold.
pub const MAX_LIMIT: u32 = 100;
/// The highest page number: the largest 32-bit signed integer, as the OpenAPI document says
/// (`format: int32`). The offset it gives, `(MAX_PAGE - 1) * MAX_LIMIT`, fits any database's `OFFSET`.
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// A 1-based page of `limit` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest { page: 1, limit: DEFAULT_LIMIT }
    }
}

impl PageRequest {
    /// Checks `page` (1..=`MAX_PAGE`) and `limit` (1..=`MAX_LIMIT`), reporting both when both are wrong.
    pub fn new(page: i64, limit: i64) -> Result<PageRequest, Vec<DomainError>> {
        let mut errors = Vec::new();
        let page = bounded("page", page, u64::from(MAX_PAGE), &mut errors);
        let limit = bounded("limit", limit, u64::from(MAX_LIMIT), &mut errors);
        if errors.is_empty() { Ok(PageRequest { page, limit }) } else { Err(errors) }
    }

    /// The page number, from 1.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// The page size asked for (the last page may hold fewer).
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// How many items come before this page.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.limit)
    }

    /// How many pages `total` items fill: 0 for none.
    pub fn total_pages(&self, total: i64) -> i64 {
        let limit = i64::from(self.limit);
        if total <= 0 { 0 } else { (total + limit - 1) / limit }
    }
}

fn bounded(field: &'static str, value: i64, max: u64, errors: &mut Vec<DomainError>) -> u32 {
    if value < 1 {
        errors.push(DomainError::constraint(field, "Input should be greater than or equal to 1"));
        return 1;
    }
    if value.unsigned_abs() > max {
        errors.push(DomainError::constraint(field, format!("Input should be less than or equal to {max}")));
        return 1;
    }
    u32::try_from(value).unwrap_or(1)
}

/// Parses an integer query value the way pydantic does (surrounding whitespace allowed).
pub fn parse_int(field: &'static str, raw: &str) -> Result<i64, DomainError> {
    let raw = raw.trim();
    match raw.parse::<i64>() {
        Ok(v) => Ok(v),
        // A well-formed integer too large for i64 is out of range, not malformed.
        Err(_)
            if !raw.is_empty() && raw.strip_prefix(['-', '+']).unwrap_or(raw).bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(if raw.starts_with('-') { i64::MIN } else { i64::MAX })
        }
        Err(_) => {
            Err(DomainError::constraint(field, "Input should be a valid integer, unable to parse string as an integer"))
        }
    }
}

/// Parses a boolean query value as pydantic does: `true/false/1/0/yes/no/on/off/t/f/y/n`, any case.
pub fn parse_bool(field: &'static str, raw: &str) -> Result<bool, DomainError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(DomainError::constraint(field, "Input should be a valid boolean, unable to interpret input")),
    }
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

impl SortOrder {
    /// Reads `asc` or `desc`.
    pub fn parse(raw: &str) -> Result<SortOrder, DomainError> {
        match raw {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            _ => Err(DomainError::constraint("sort_order", "Input should be 'asc' or 'desc'")),
        }
    }

    /// True for `desc`.
    pub fn is_desc(self) -> bool {
        self == SortOrder::Desc
    }
}

/// A sort column out of a list's allowed ones, and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sort {
    pub column: &'static str,
    pub order: SortOrder,
}

/// Picks `raw` out of `allowed`; anything else is refused with a message naming every allowed column,
/// worded as pydantic words a choice between literals.
pub fn sort_column(raw: &str, allowed: &'static [&'static str]) -> Result<&'static str, DomainError> {
    allowed
        .iter()
        .copied()
        .find(|c| *c == raw)
        .ok_or_else(|| DomainError::constraint("sort_by", format!("Input should be {}", one_of(allowed))))
}

/// `'a', 'b' or 'c'`.
fn one_of(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|c| format!("'{c}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// What a list endpoint was asked for: a page, an optional sort, an optional search term and boolean
/// filters by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    pub page: PageRequest,
    /// `None` when the client named no column: the list's own default order applies.
    pub sort: Option<Sort>,
    /// The direction asked for, also when no column was named (a default column then sorts this way).
    pub order: Option<SortOrder>,
    /// A non-empty search term, as given.
    pub search: Option<String>,
    /// The boolean filters the client set, by name.
    pub filters: Vec<(&'static str, bool)>,
}

impl ListQuery {
    /// The value of a boolean filter, if the client set it.
    pub fn filter(&self, name: &str) -> Option<bool> {
        self.filters.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The sort asked for, else `default` (with the asked direction if one was given).
    pub fn sort_or(&self, default: Sort) -> Sort {
        self.sort.unwrap_or(Sort { column: default.column, order: self.order.unwrap_or(default.order) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds() {
        let p = PageRequest::new(3, 100).unwrap();
        assert_eq!((p.page(), p.limit(), p.offset()), (3, 100, 200));
        let max = PageRequest::new(i64::from(MAX_PAGE), 100).unwrap();
        assert_eq!(max.offset(), (i64::from(i32::MAX) - 1) * 100);
        let e = PageRequest::new(0, 101).unwrap_err();
        assert_eq!(e[0].message(), "Input should be greater than or equal to 1");
        assert_eq!(e[1].message(), "Input should be less than or equal to 100");
        let e = PageRequest::new(2_147_483_648, 20).unwrap_err();
        assert_eq!((e[0].field(), e[0].message()), ("page", "Input should be less than or equal to 2147483647"));
        assert_eq!(PageRequest::new(i64::MAX, 20).unwrap_err().len(), 1);
        assert_eq!(PageRequest::default().total_pages(0), 0);
        assert_eq!(PageRequest::new(1, 2).unwrap().total_pages(5), 3);
    }

    #[test]
    fn integers_booleans_and_orders() {
        assert_eq!(parse_int("page", " 7 ").unwrap(), 7);
        assert_eq!(parse_int("page", "9223372036854775808").unwrap(), i64::MAX);
        assert_eq!(parse_int("page", "-99999999999999999999").unwrap(), i64::MIN);
        assert!(parse_int("page", "x").is_err());
        assert!(parse_int("page", "").is_err());
        assert!(parse_int("page", "1.5").is_err());
        for t in ["true", "1", "YES", "on", "t", "y"] {
            assert!(parse_bool("is_active", t).unwrap());
        }
        for f in ["false", "0", "No", "off", "f", "n"] {
            assert!(!parse_bool("is_active", f).unwrap());
        }
        assert_eq!(
            parse_bool("is_active", "maybe").unwrap_err().message(),
            "Input should be a valid boolean, unable to interpret input"
        );
        assert_eq!(SortOrder::parse("desc").unwrap(), SortOrder::Desc);
        assert_eq!(SortOrder::parse("DESC").unwrap_err().message(), "Input should be 'asc' or 'desc'");
    }

    #[test]
    fn unknown_sort_columns_name_the_allowed_ones() {
        const ALLOWED: &[&str] = &["created_at", "email", "first_name"];
        assert_eq!(sort_column("email", ALLOWED).unwrap(), "email");
        let e = sort_column("password_hash", ALLOWED).unwrap_err();
        assert_eq!((e.field(), e.message()), ("sort_by", "Input should be 'created_at', 'email' or 'first_name'"));
        assert_eq!(one_of(&["a"]), "'a'");
    }

    #[test]
    fn defaults_and_filters() {
        let q = ListQuery { order: Some(SortOrder::Desc), filters: vec![("is_active", false)], ..ListQuery::default() };
        let default = Sort { column: "created_at", order: SortOrder::Asc };
        assert_eq!(q.sort_or(default), Sort { column: "created_at", order: SortOrder::Desc });
        assert_eq!(q.filter("is_active"), Some(false));
        assert_eq!(q.filter("is_superuser"), None);
    }
}
