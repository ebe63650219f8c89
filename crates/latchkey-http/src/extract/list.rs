//! List queries: `page`, `limit` and what a list declares besides ([`ListSpec`]: sort columns, search,
//! boolean filters), read by the [`List`] extractor with every problem reported at once in pydantic's
//! words, and the documentation types that state the same parameters in the OpenAPI document.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use latchkey_domain::DomainError;
use latchkey_domain::list::{self, ListQuery, PageRequest, Sort, SortOrder};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::{ApiError, ErrorItem};

/// What a list endpoint accepts besides `page` and `limit` (reference §8). Implement it on a marker type
/// per list and extract [`List<Spec>`]; document the same parameters with [`PageParams`] and
/// [`SortParams`] (plus the list's own filters) in the handler's `params(...)`.
pub trait ListSpec: 'static {
    /// The columns `sort_by` may name; any other is a 422 naming these. Empty: `sort_by` and `sort_order`
    /// are not read.
    const SORT_COLUMNS: &'static [&'static str] = &[];
    /// Whether `search` is read.
    const SEARCH: bool = false;
    /// The boolean filters read, by query name.
    const FILTERS: &'static [&'static str] = &[];
}

/// A list that is only paged.
#[derive(Debug, Clone, Copy)]
pub struct PageOnly;

impl ListSpec for PageOnly {}

/// The list query of a request (`page`, `limit`, and what `S` allows), every problem reported at once
/// with pydantic's messages. Unknown parameters are ignored, as the reference ignores them.
pub struct List<S> {
    pub query: ListQuery,
    spec: PhantomData<S>,
}

impl<S> std::fmt::Debug for List<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.query.fmt(f)
    }
}

impl<S> std::ops::Deref for List<S> {
    type Target = ListQuery;

    fn deref(&self) -> &ListQuery {
        &self.query
    }
}

/// A query string's parameters, in order.
fn pairs(query: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(query).unwrap_or_default()
}

/// The value of `name`: the last of repeated parameters counts, as with pydantic.
fn last<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A boolean query parameter of an operation that is not a list, read as a list's filters are, `default`
/// when absent.
pub fn bool_param(query: &str, name: &'static str, default: bool) -> Result<bool, ApiError> {
    match last(&pairs(query), name) {
        None => Ok(default),
        Some(raw) => list::parse_bool(name, raw).map_err(|e| ApiError::validation(vec![ErrorItem::domain(&e)])),
    }
}

impl<S: ListSpec> List<S> {
    /// Reads a query string.
    pub fn parse(query: &str) -> Result<List<S>, ApiError> {
        let pairs = pairs(query);
        let get = |name: &str| last(&pairs, name);
        let mut errors: Vec<DomainError> = Vec::new();
        let mut int = |name: &'static str, default: u32| -> i64 {
            get(name).map_or(i64::from(default), |raw| {
                list::parse_int(name, raw).unwrap_or_else(|e| {
                    errors.push(e);
                    1
                })
            })
        };
        let page = int("page", 1);
        let limit = int("limit", list::DEFAULT_LIMIT);
        let page = PageRequest::new(page, limit).unwrap_or_else(|e| {
            errors.extend(e);
            PageRequest::default()
        });
        let mut query = ListQuery { page, ..ListQuery::default() };
        if !S::SORT_COLUMNS.is_empty() {
            if let Some(raw) = get("sort_by") {
                match list::sort_column(raw, S::SORT_COLUMNS) {
                    Ok(column) => query.sort = Some(Sort { column, order: SortOrder::Asc }),
                    Err(e) => errors.push(e),
                }
            }
            if let Some(raw) = get("sort_order") {
                match SortOrder::parse(raw) {
                    Ok(order) => query.order = Some(order),
                    Err(e) => errors.push(e),
                }
            }
            if let (Some(sort), Some(order)) = (&mut query.sort, query.order) {
                sort.order = order;
            }
        }
        if S::SEARCH {
            query.search = get("search").filter(|s| !s.trim().is_empty()).map(str::to_owned);
        }
        for &name in S::FILTERS {
            if let Some(raw) = get(name) {
                match list::parse_bool(name, raw) {
                    Ok(v) => query.filters.push((name, v)),
                    Err(e) => errors.push(e),
                }
            }
        }
        if errors.is_empty() {
            Ok(List { query, spec: PhantomData })
        } else {
            Err(ApiError::validation(errors.iter().map(ErrorItem::domain).collect()))
        }
    }
}

impl<S: ListSpec> FromRequest for List<S> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(List::parse(req.query_string()))
    }
}

/// `page` and `limit`, for a list handler's `params(...)`: the schema states the bounds the code enforces.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: `List` reads the values")]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1)]
    page: Option<i32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i32>,
}

/// `sort_order`, for a sortable list's `params(...)`; the list documents its own `sort_by` columns.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: `List` reads the values")]
pub struct SortParams {
    /// `asc` (the default) or `desc`.
    #[param(pattern = "^(asc|desc)$", default = "asc")]
    sort_order: Option<String>,
}

/// `sort_by` for a sortable list's `params(...)` (through an `IntoParams` type of the list's own),
/// its pattern stated from the columns the list accepts ([`ListSpec::SORT_COLUMNS`]): the document cannot
/// drift from what is accepted. `description` words the same columns (see [`backticked`]).
pub fn sort_by_param(columns: &[&str], description: String) -> Parameter {
    ParameterBuilder::new()
        .name("sort_by")
        .parameter_in(ParameterIn::Query)
        .description(Some(description))
        .required(Required::False)
        .schema(Some(
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!("^({})$", columns.join("|")))),
        ))
        .build()
}

/// The columns for a `sort_by` description, each in backticks, `default`'s followed by `note`
/// (`` `created_at` (the default) ``).
pub fn backticked(columns: &[&str], default: &str, note: &str) -> Vec<String> {
    columns.iter().map(|&c| if c == default { format!("`{c}` {note}") } else { format!("`{c}`") }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Users;

    impl ListSpec for Users {
        const SORT_COLUMNS: &'static [&'static str] = &["created_at", "email"];
        const SEARCH: bool = true;
        const FILTERS: &'static [&'static str] = &["is_active", "is_superuser"];
    }

    fn problems<S: ListSpec + std::fmt::Debug>(query: &str) -> Vec<(String, String)> {
        let e = List::<S>::parse(query).unwrap_err();
        e.errors().iter().map(|i| (i.field.clone().unwrap_or_default(), i.message.to_string())).collect()
    }

    #[test]
    fn list_query_bounds() {
        let q = List::<PageOnly>::parse("").unwrap();
        assert_eq!((q.page.page(), q.page.limit()), (1, 20));
        let q = List::<PageOnly>::parse("page=3&limit=100&sort_by=anything").unwrap();
        assert_eq!((q.page.page(), q.page.limit(), q.sort), (3, 100, None), "undeclared parameters are ignored");
        assert_eq!(
            problems::<PageOnly>("page=0&limit=101"),
            vec![
                ("page".into(), "Input should be greater than or equal to 1".into()),
                ("limit".into(), "Input should be less than or equal to 100".into())
            ]
        );
        for page in ["2147483648", "9223372036854775807", "99999999999999999999999"] {
            assert_eq!(
                problems::<PageOnly>(&format!("page={page}")),
                vec![("page".into(), "Input should be less than or equal to 2147483647".into())]
            );
        }
        assert_eq!(List::<PageOnly>::parse("page=2147483647").unwrap().page.page(), 2_147_483_647);
        assert_eq!(
            problems::<PageOnly>("page=x"),
            vec![("page".into(), "Input should be a valid integer, unable to parse string as an integer".into())]
        );
    }

    #[test]
    fn list_query_sort_search_and_filters() {
        let q = List::<Users>::parse("sort_by=email&sort_order=desc&search=%20ada%20&is_active=false").unwrap();
        assert_eq!(q.sort, Some(Sort { column: "email", order: SortOrder::Desc }));
        assert_eq!(q.search.as_deref(), Some(" ada "));
        assert_eq!((q.filter("is_active"), q.filter("is_superuser")), (Some(false), None));
        assert_eq!(List::<Users>::parse("search=%20").unwrap().search, None, "a blank search is no search");
        assert_eq!(
            problems::<Users>("sort_by=password_hash&sort_order=up&is_superuser=maybe"),
            vec![
                ("sort_by".into(), "Input should be 'created_at' or 'email'".into()),
                ("sort_order".into(), "Input should be 'asc' or 'desc'".into()),
                ("is_superuser".into(), "Input should be a valid boolean, unable to interpret input".into()),
            ]
        );
    }
}
