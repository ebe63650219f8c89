//! `/api/v1/oauth`: of the reference's social-login router, only what its web frontend asks on its login
//! and register pages. Latchkey has no OAuth login, so it answers as the reference does with
//! `OAUTH_ENABLED=false`.

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::endpoints::Endpoints;
use crate::error::Envelope;
use crate::extract::AuthUser;

/// The oauth router's operations.
pub fn routes(r: &mut Endpoints) {
    r.add(__path_providers, providers);
    r.add(__path_accounts, accounts);
}

/// Which social-login providers are available.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthProvidersResponse {
    /// Always `false`: Latchkey offers no social login.
    enabled: bool,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    providers: Vec<serde_json::Value>,
}

/// The social-login providers: none (`{"enabled": false, "providers": []}`), so a client hides its
/// "Sign in with ..." buttons.
#[utoipa::path(
    get,
    path = "/api/v1/oauth/providers",
    tag = "oauth",
    responses((status = 200, description = "OAuth is off", body = OAuthProvidersResponse)),
)]
pub async fn providers() -> HttpResponse {
    HttpResponse::Ok().json(OAuthProvidersResponse { enabled: false, providers: Vec::new() })
}

/// The caller's linked social-login accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthAccountsResponse {
    /// Always empty: Latchkey links no social-login account.
    #[schema(value_type = Vec<Object>)]
    accounts: Vec<serde_json::Value>,
}

/// The caller's linked social-login accounts: none (`{"accounts": []}`), as the reference answers for an
/// account with nothing linked, so its frontend's account page renders.
#[utoipa::path(
    get,
    path = "/api/v1/oauth/accounts",
    tag = "oauth",
    security(("OAuth2PasswordBearer" = [])),
    responses(
        (status = 200, description = "No linked account", body = OAuthAccountsResponse),
        (status = 401, description = "Not authenticated", body = Envelope),
    ),
)]
pub async fn accounts(_caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(OAuthAccountsResponse { accounts: Vec::new() })
}
