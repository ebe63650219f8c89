//! `/api/v1/organizations`: the caller's organizations, one organization, its members, and its update.
//! Any active member reads, owners and admins manage, a superuser may do anything
//! (`latchkey_service::authz::check_org_role`). The role check runs before the organization is looked up,
//! so a non-member cannot tell a missing organization from one they may not see.

// utoipa expands a `params(...)` list that mixes inline parameters and `IntoParams` types into
// qualified paths that rustc then calls unnecessary.
#![expect(unused_qualifications, reason = "utoipa's expansion of mixed params(...) lists")]

use actix_web::{HttpRequest, HttpResponse, web};
use latchkey_service::organizations::OrganizationUpdate;
use latchkey_service::organizations::members as orgs;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::endpoints::Endpoints;
use crate::error::{ApiError, Envelope};
use crate::extract::body::refuse_nulls;
use crate::extract::list::bool_param;
use crate::extract::{AuthUser, Body, LaterJson, List, ListSpec, PageParams, parse_uuid};
use crate::responses::{OrganizationMemberResponse, OrganizationResponse, Paginated};
use crate::routes::run;
use crate::state::AppState;

/// The organizations router's operations (none is rate limited, as in the reference).
pub fn routes(r: &mut Endpoints) {
    r.add(__path_list_mine, list_mine);
    r.add(__path_get_one, get_one);
    r.add(__path_members, members);
    r.add(__path_update, update);
}

/// `OrganizationUpdate`: only the fields present change; `description` and `settings` may be set to
/// null, the other fields may not.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = OrganizationUpdate)]
pub struct OrganizationUpdateBody {
    /// 1..255 characters, trimmed, not blank; not null.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = String, min_length = 1, max_length = 255, pattern = r"^[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F][^\x00-\x1F\x7F]*$")]
    name: Option<Option<String>>,
    /// 1..255 of `a-z`, `0-9` and `-`; no hyphen at either end, no `--`; not null.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = String, example = "acme-corp", min_length = 1, max_length = 255, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: Option<Option<String>>,
    /// At most 10,000 characters.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    description: Option<Option<String>>,
    /// Not null. Only a superuser changes it (others: 403 `AUTH_004`).
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = bool)]
    is_active: Option<Option<bool>>,
    /// A JSON object of at most 16 KiB and 8 levels.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<Object>)]
    settings: Option<Option<Map<String, Value>>>,
}

impl Body for OrganizationUpdateBody {
    const REQUIRED: &'static [&'static str] = &[];
}

impl OrganizationUpdateBody {
    /// Refuses explicit nulls for the columns that cannot be null (the reference answers them with a 500).
    pub(crate) fn into_update(self) -> Result<OrganizationUpdate, ApiError> {
        let errors = refuse_nulls(&[
            ("name", matches!(self.name, Some(None)), "Input should be a valid string"),
            ("slug", matches!(self.slug, Some(None)), "Input should be a valid string"),
            ("is_active", matches!(self.is_active, Some(None)), "Input should be a valid boolean"),
        ]);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        Ok(OrganizationUpdate {
            name: self.name.flatten(),
            slug: self.slug.flatten(),
            description: self.description,
            is_active: self.is_active.flatten(),
            settings: self.settings.map(|s| s.map(Value::Object)),
        })
    }
}

/// `is_active` of `GET /organizations/me`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "a documentation type: the handler reads the value")]
pub struct MembershipFilter {
    /// Filters on the membership: active (the default) or removed.
    #[param(default = true)]
    is_active: Option<bool>,
}

/// A member list's query: a page, and `is_active` (on the membership; default true).
#[derive(Debug, Clone, Copy)]
pub struct MemberList;

impl ListSpec for MemberList {
    const FILTERS: &'static [&'static str] = &["is_active"];
}

/// The organizations the caller belongs to (a plain array, not a page), inactive organizations included.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/me",
    tag = "organizations",
    params(MembershipFilter),
    security(("OAuth2PasswordBearer" = [])),
    responses((status = 200, description = "The caller's organizations", body = Vec<OrganizationResponse>)),
)]
pub async fn list_mine(
    caller: AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let active = bool_param(req.query_string(), "is_active", true)?;
    let list = run(&state, move |svc| orgs::list_mine(svc, &caller, active)).await?;
    Ok(HttpResponse::Ok().json(list.into_iter().map(OrganizationResponse::from).collect::<Vec<_>>()))
}

/// One organization: any active member, or a superuser.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{organization_id}",
    tag = "organizations",
    params(("organization_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The organization", body = OrganizationResponse),
        (status = 403, description = "Not a member of this organization (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (superusers only; `SYS_002`)", body = Envelope),
    ),
)]
pub async fn get_one(
    caller: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_uuid("organization_id", &path)?;
    let org = run(&state, move |svc| orgs::get(svc, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}

/// The organization's members, newest membership first: any active member, or a superuser.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{organization_id}/members",
    tag = "organizations",
    params(("organization_id" = Uuid, Path, description = "The organization"), PageParams, MembershipFilter),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "One page of members", body = Paginated<OrganizationMemberResponse>),
        (status = 403, description = "Not a member of this organization (`AUTH_004`)", body = Envelope),
    ),
)]
pub async fn members(
    caller: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    list: Result<List<MemberList>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    // Checked only once the caller is authorised (401/403 before 422).
    let list = list?;
    let id = parse_uuid("organization_id", &path)?;
    let page = list.page;
    let active = list.filter("is_active").unwrap_or(true);
    let members = run(&state, move |svc| orgs::members(svc, &caller, id, active, page)).await?;
    Ok(HttpResponse::Ok().json(Paginated::new(members, page, OrganizationMemberResponse::from)))
}

/// Updates the organization (only the fields present): owners and admins, or a superuser.
#[utoipa::path(
    put,
    path = "/api/v1/organizations/{organization_id}",
    tag = "organizations",
    request_body = OrganizationUpdateBody,
    params(("organization_id" = Uuid, Path, description = "The organization")),
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "The updated organization", body = OrganizationResponse),
        (status = 403, description = "Not a member, or not an owner or admin (`AUTH_004`)", body = Envelope),
        (status = 404, description = "No such organization (superusers only; `SYS_002`)", body = Envelope),
        (status = 409, description = "The slug is taken (`SYS_005`)", body = Envelope),
    ),
)]
pub async fn update(
    caller: AuthUser,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: LaterJson,
) -> Result<HttpResponse, ApiError> {
    let body: OrganizationUpdateBody = body.parse().await?;
    let id = parse_uuid("organization_id", &path)?;
    let update = body.into_update()?;
    let org = run(&state, move |svc| orgs::update(svc, &caller, id, update)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(org)))
}
