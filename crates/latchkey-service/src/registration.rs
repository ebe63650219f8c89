//! New accounts: self-registration (`POST /auth/register`), the first superuser (bootstrap, from the CLI
//! and start-up), and the checks and row every new account shares with the admin API's create
//! ([`crate::accounts::create_user`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use latchkey_db::models::NewUser;
use latchkey_db::repo::users;
use latchkey_db::{DbError, Id, Json, Ts};
use latchkey_domain::{Email, validate_password};
use serde_json::json;

use crate::error::ServiceError;
use crate::services::Services;
use crate::user_fields::UserFields;
use crate::views::User;

/// The answer to a registration that cannot go through (a taken email looks like any other failure).
pub const REGISTRATION_FAILED: &str = "Registration failed. Please check your information and try again.";

/// A new account as submitted.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
}

/// Checks a new account's email and fields, collecting every broken rule (the email's first); returns
/// the email and the fields normalised (the phone cleaned).
pub(crate) fn check_new_account(
    email: &str,
    first_name: String,
    last_name: Option<String>,
    phone_number: Option<String>,
    password: String,
) -> Result<(Email, UserFields), ServiceError> {
    let email = Email::parse(email);
    let fields = UserFields {
        first_name: Some(first_name),
        last_name: Some(last_name),
        phone_number: Some(phone_number),
        password: Some(password),
        ..UserFields::default()
    }
    .validate();
    match (email, fields) {
        (Ok(email), Ok(fields)) => Ok((email, fields)),
        (email, fields) => {
            let mut errors: Vec<_> = email.err().into_iter().collect();
            errors.extend(fields.err().unwrap_or_default());
            Err(ServiceError::Validation(errors))
        }
    }
}

/// The row of a new active account created at `now`: a fresh id, empty preferences, no locale; set
/// `last_name` and `phone_number` on it when there are any.
pub(crate) fn new_user(
    email: Email,
    password_hash: String,
    first_name: String,
    is_superuser: bool,
    now: DateTime<Utc>,
) -> NewUser {
    NewUser {
        id: Id(uuid::Uuid::new_v4()),
        email: email.into_string(),
        password_hash: Some(password_hash),
        first_name,
        last_name: None,
        phone_number: None,
        is_active: true,
        is_superuser,
        preferences: Some(Json(json!({}))),
        locale: None,
        created_at: Ts(now),
        updated_at: Ts(now),
    }
}

/// `POST /auth/register`: creates an active, non-superuser account (whatever the body says about those).
/// The password is hashed on the hashing pool (a 503 when it is overloaded), then the row is inserted.
pub async fn register(svc: &Arc<Services>, r: Registration) -> Result<User, ServiceError> {
    let (email, fields) =
        check_new_account(&r.email, r.first_name.clone(), r.last_name.clone(), r.phone_number, r.password.clone())?;
    let hash = svc.hashing.hash(r.password).await?;
    svc.blocking(move |svc| {
        let new = NewUser {
            last_name: r.last_name,
            phone_number: fields.phone_number.flatten(),
            ..new_user(email, hash, r.first_name, false, svc.now())
        };
        let mut conn = svc.db.conn()?;
        match users::create(&mut conn, &new) {
            Ok(user) => Ok(user.into()),
            Err(DbError::Conflict { .. }) => Err(ServiceError::BadRequest(REGISTRATION_FAILED)),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// Creates a superuser, or promotes nothing and returns `Ok(false)` when the email is taken. Synchronous:
/// for the CLI and start-up, outside any request.
pub fn create_superuser(svc: &Services, email: &str, password: &str) -> Result<bool, ServiceError> {
    let email = Email::parse(email)?;
    validate_password(password)?;
    let mut conn = svc.db.conn()?;
    if users::find_by_email(&mut conn, email.as_str())?.is_some() {
        return Ok(false);
    }
    // A one-off command (or start-up step), not a request: it hashes on the calling thread.
    let hash = svc.hasher.hash(password)?;
    let new = new_user(email, hash, "Admin".to_owned(), true, svc.now());
    match users::create(&mut conn, &new) {
        Ok(_) => Ok(true),
        Err(DbError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
