//! `/api/v1/admin/organizations`: list, create, read, update, delete, and members (list, add, remove).
//! Superusers only (`AdminUser`); every change writes an audit event naming the admin and the target.

// utoipa expands a `params(...)` list that mixes inline parameters and `IntoParams` types into
// qualified paths that rustc then calls unnecessary.
#![expect(unused_qualifications, reason = "utoipa's expansion of mixed params(...) lists")]

use actix_web::{HttpResponse, web};
use latchkey_domain::Role;
use latchkey_service::organizations::admin::{self as orgs, AdminListFilter, NewOrganization};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope, ErrorItem};
use crate::extract::body::refuse_nulls;
use crate::extract::list::{backticked, sort_by_param};
use crate::extract::{AdminUser, Body, LaterJson, List, ListSpec, PageParams, SortParams, parse_uuid};
use crate::responses::{MessageResponse, OrganizationMemberResponse, OrganizationResponse, Paginated};
use crate::routes::organizations::{MemberList, MembershipFilter, OrganizationUpdateBody};
use crate::routes::run;
use crate::state::AppState;

/// This area's operations (none is rate limited, as in the reference).
pub fn routes(r: &mut Endpoints) {
    r.add(__path_list, list);
    r.add(__path_create, create);
    r.add(__path_get_one, get_one);
    r.add(__path_update, update);
    r.add(__path_delete, delete);
    r.add(__path_members, members);
    r.add(__path_add_member, add_member);
    r.add(__path_remove_member, remove_member);
}

/// The admin organization list's query.
#[derive(Debug, Clone, Copy)]
pub struct AdminOrgList;

impl ListSpec for AdminOrgList {
    const SORT_COLUMNS: &'static [&'static str] = orgs::SORT_COLUMNS;
    const SEARCH: bool = true;
    const FILTERS: &'static [&'static str] = &["is_active"];
}

/// The admin organization list's `sort_by`, stated from [`AdminOrgList`]'s columns.
impl IntoParams for AdminOrgList {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut columns = backticked(Self::SORT_COLUMNS, orgs::DEFAULT_SORT.column, "(the default, newest first)");
        let last = columns.pop().unwrap_or_default();
        vec![sort_by_param(Self::SORT_COLUMNS, format!("{} or {last}.", columns.join(", ")))]
    }
}

/// The admin organization list's other parameters.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: `List` reads the values")]
pub struct AdminOrgListParams {
    /// A case-insensitive substring of the name, slug or description.
    search: Option<String>,
    /// Only active or only inactive organizations.
    is_active: Option<bool>,
}

/// One page of organizations with their member counts, newest first unless `sort_by` says otherwise.
#[utoipa::path(
    get,
    path = "/api/v1/admin/organizations",
    tag = "admin",
    params(PageParams, AdminOrgList, AdminOrgListParams, SortParams),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of organizations", body = Paginated<OrganizationResponse>),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
    ),
)]
pub async fn list(
    admin: AdminUser,
    state: web::Data<AppState>,
    query: Result<List<AdminOrgList>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // Checked only once the caller is authorised (401/403 before 422).
    let query = query?;
    let page = query.page;
    let filter = AdminListFilter {
        is_active: query.filter("is_active"),
        search: query.search.clone(),
        sort: query.sort_or(orgs::DEFAULT_SORT),
    };
    let orgs = run(&state, move |svc| orgs::admin_list(svc, &admin, &filter, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(orgs, page, OrganizationResponse::from)))
}

/// `OrganizationCreate`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = OrganizationCreate)]
pub struct OrganizationCreateBody {
    /// 1..255 characters, trimmed, not blank.
    #[schema(
        example = "Acme Corp",
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F][^\x00-\x1F\x7F]*$"
    )]
    name: String,
    /// 1..255 of `a-z`, `0-9` and `-`; no hyphen at either end, no `--`. Unique.
    #[schema(example = "acme-corp", min_length = 1, max_length = 255, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: String,
    /// At most 10,000 characters.
    #[serde(default)]
    #[schema(max_length = 10000)]
    description: Option<String>,
    /// Default true; not null.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = bool, default = true)]
    is_active: Option<Option<bool>>,
    /// Default `{}`; null stores none. A JSON object of at most 16 KiB and 8 levels.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Object>)]
    settings: Option<Option<Map<String, Value>>>,
}

impl Body for OrganizationCreateBody {
    const REQUIRED: &'static [&'static str] = &["name", "slug"];
}

/// Creates an organization (201, with no members).
#[utoipa::path(
    post,
    path = "/api/v1/admin/organizations",
    tag = "admin",
    request_body = OrganizationCreateBody,
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 201, description = "Created", body = OrganizationResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 409, description = "The slug is taken (`SYS_005`)", body = Envelope),
    ),
)]
pub async fn create(admin: AdminUser, state: web::Data<AppState>, body: LaterJson) -> Result<HttpResponse, ApiError> {
    let body: OrganizationCreateBody = body.parse().await?;
    let nulls = refuse_nulls(&[("is_active", matches!(body.is_active, Some(None)), "Input should be a valid boolean")]);
    if !nulls.is_empty() {
        return Err(ApiError::validation(nulls));
    }
    let is_active = body.is_active.flatten().unwrap_or(true);
    let new = NewOrganization {
        name: body.name,
        slug: body.slug,
        description: body.description,
        is_active,
        settings: match body.settings {
            None => Some(Value::Object(Map::new())),
            Some(s) => s.map(Value::Object),
        },
    };
    let org = run(&state, move |svc| orgs::admin_create(svc, &admin, new)).await?;
    Ok(HttpResponse::Created().json(OrganizationResponse::from(org)))
}

/// One organization.
#[utoipa::path(
    get,
    path = "/api/v1/admin/organizations/{org_id}",
    tag = "admin",
    params(("org_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn get_one(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("org_id", &path)?;
    let org = run(&state, move |svc| orgs::admin_get(svc, &admin, id)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}

/// Updates an organization (only the fields present).
#[utoipa::path(
    put,
    path = "/api/v1/admin/organizations/{org_id}",
    tag = "admin",
    request_body = OrganizationUpdateBody,
    params(("org_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The updated organization", body = OrganizationResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (`SYS_002`)", body = Envelope),
        (status = 409, description = "The slug is taken (`SYS_005`)", body = Envelope),
    ),
)]
pub async fn update(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: LaterJson,
) -> Result<HttpResponse, ApiError> {
    let body: OrganizationUpdateBody = body.parse().await?;
    let id = parse_uuid("org_id", &path)?;
    let update = body.into_update()?;
    let org = run(&state, move |svc| orgs::admin_update(svc, &admin, id, update)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}

/// Deletes an organization for good, with its memberships.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/organizations/{org_id}",
    tag = "admin",
    params(("org_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Deleted", body = MessageResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn delete(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("org_id", &path)?;
    let name = run(&state, move |svc| orgs::admin_delete(svc, &admin, id)).await?;
    Ok(HttpResponse::Ok().json(MessageResponse::ok(format!("Organization {name} has been deleted"))))
}

/// The organization's members, newest membership first; `is_active` (default true) filters on the
/// membership.
#[utoipa::path(
    get,
    path = "/api/v1/admin/organizations/{org_id}/members",
    tag = "admin",
    params(("org_id" = Uuid, Path, description = "The organization"), PageParams, MembershipFilter),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of members", body = Paginated<OrganizationMemberResponse>),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn members(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    list: Result<List<MemberList>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // Checked only once the caller is authorised (401/403 before 422).
    let list = list?;
    let id = parse_uuid("org_id", &path)?;
    let page = list.page;
    let active = list.filter("is_active").unwrap_or(true);
    let members = run(&state, move |svc| orgs::admin_members(svc, &admin, id, active, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(members, page, OrganizationMemberResponse::from)))
}

/// `AddMemberRequest`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = AddMemberRequest)]
pub struct AddMemberBody {
    #[schema(value_type = Uuid)]
    user_id: String,
    /// `owner`, `admin`, `member` (the default) or `guest`.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(schema_with = crate::openapi::fields::role)]
    role: Option<Option<Value>>,
}

impl Body for AddMemberBody {
    const REQUIRED: &'static [&'static str] = &["user_id"];
}

/// Adds a user to the organization, or brings back their removed membership with the new role.
#[utoipa::path(
    post,
    path = "/api/v1/admin/organizations/{org_id}/members",
    tag = "admin",
    request_body = AddMemberBody,
    params(("org_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Added", body = MessageResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization or user (`SYS_002`)", body = Envelope),
        (status = 409, description = "Already an active member (`USER_002`, field `user_id`)", body = Envelope),
    ),
)]
pub async fn add_member(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: LaterJson,
) -> Result<HttpResponse, ApiError> {
    let body: AddMemberBody = body.parse().await?;
    let org_id = parse_uuid("org_id", &path)?;
    let user_id = parse_uuid("user_id", &body.user_id);
    let role = match body.role {
        None => Ok(Role::Member),
        Some(Some(Value::String(r))) => r.parse::<Role>().map_err(|_| ()),
        Some(_) => Err(()),
    }
    .map_err(|()| ErrorItem::validation(Some("role".into()), "Input should be 'owner', 'admin', 'member' or 'guest'"));
    let (user_id, role) = match (user_id, role) {
        (Ok(u), Ok(r)) => (u, r),
        (user, role) => {
            let mut errors: Vec<ErrorItem> = user.err().map(|e| e.errors().to_vec()).unwrap_or_default();
            errors.extend(role.err());
            return Err(ApiError::validation(errors));
        }
    };
    let done = run(&state, move |svc| orgs::admin_add_member(svc, &admin, org_id, user_id, role)).await?;
    Ok(HttpResponse::Ok()
        .json(MessageResponse::ok(format!("User {} added to organization {}", done.email, done.organization_name))))
}

/// Removes a member (the membership is deactivated, not deleted). Removing a removed member succeeds again.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/organizations/{org_id}/members/{user_id}",
    tag = "admin",
    params(
        ("org_id" = Uuid, Path, description = "The organization"),
        ("user_id" = Uuid, Path, description = "The member"),
    ),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "Removed", body = MessageResponse),
        (status = 403, description = "Not a superuser (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization or user, or not a member (`SYS_002`)", body = Envelope),
    ),
)]
pub async fn remove_member(
    admin: AdminUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (org, user) = path.into_inner();
    let org_id = parse_uuid("org_id", &org)?;
    let user_id = parse_uuid("user_id", &user)?;
    let done = run(&state, move |svc| orgs::admin_remove_member(svc, &admin, org_id, user_id)).await?;
    Ok(HttpResponse::Ok()
        .json(MessageResponse::ok(format!("User {} removed from organization {}", done.email, done.organization_name))))
}
