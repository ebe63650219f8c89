//! Organizations: the members' view ([`members`]: `/organizations`, with the role rules) and the
//! superuser's ([`admin`]: `/admin/organizations`, with the audit trail); here, what both share: the
//! input, its checks, and the views.
//!
//! Role rules (reference §1.6): a superuser may do anything; otherwise the caller's *active* membership
//! decides, and it is checked before the organization's existence, so a non-member learns nothing about
//! whether an organization exists. Any active role reads; owners and admins update.

pub mod admin;
pub mod members;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use latchkey_db::models::{OrgChanges, OrgRow};
use latchkey_db::repo::organizations::{self as orgs, MemberRow};
use latchkey_db::{AnyConnection, DbError, Json, Ts};
use latchkey_domain::{DomainError, Role, validate_org_name, validate_slug};
use serde_json::Value;

use crate::error::ServiceError;
use crate::user_fields::check_json_store;
use crate::views::{Member, Organization, Page};

fn organization(org: OrgRow, member_count: i64) -> Organization {
    Organization {
        id: org.id.0,
        name: org.name,
        slug: org.slug,
        description: org.description,
        is_active: org.is_active,
        settings: org.settings.map(|s| s.0),
        created_at: org.created_at.0,
        updated_at: org.updated_at.0,
        member_count,
    }
}

fn member(row: MemberRow) -> Result<Member, ServiceError> {
    let role = row
        .role
        .parse::<Role>()
        .map_err(|_| ServiceError::Internal(format!("membership with unknown role '{}'", row.role)))?;
    Ok(Member {
        user_id: row.user_id.0,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        role,
        is_active: row.is_active,
        joined_at: row.joined_at.0,
    })
}

fn members_page(page: latchkey_db::repo::Page<MemberRow>) -> Result<Page<Member>, ServiceError> {
    Ok(Page { items: page.items.into_iter().map(member).collect::<Result<_, _>>()?, total: page.total })
}

/// `OrganizationUpdate`: `None` leaves a field alone; for nullable fields `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub settings: Option<Option<Value>>,
}

fn org_not_found(id: uuid::Uuid) -> ServiceError {
    ServiceError::NotFound(format!("Organization {id} not found"))
}

/// The organization `id`; 404 when there is none.
fn find_org(c: &mut AnyConnection, id: uuid::Uuid) -> Result<OrgRow, ServiceError> {
    orgs::find_by_id(c, id)?.ok_or_else(|| org_not_found(id))
}

fn slug_taken(slug: &str) -> ServiceError {
    ServiceError::conflict(format!("Organization with slug '{slug}' already exists"))
}

/// Collects every broken rule of a name and a slug.
fn check_name_and_slug(
    name: Option<&str>,
    slug: Option<&str>,
) -> Result<(Option<String>, Option<String>), ServiceError> {
    let mut errors: Vec<DomainError> = Vec::new();
    let name = name.map(validate_org_name).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let slug = slug.map(validate_slug).transpose().unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if errors.is_empty() { Ok((name, slug)) } else { Err(ServiceError::Validation(errors)) }
}

/// Adds member counts to a page of organizations with one grouped query.
fn with_counts(conn: &mut AnyConnection, rows: Vec<OrgRow>) -> Result<Vec<Organization>, ServiceError> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|o| o.id.0).collect();
    let counts: HashMap<uuid::Uuid, i64> = orgs::member_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|org| {
            let member_count = counts.get(&org.id.0).copied().unwrap_or(0);
            organization(org, member_count)
        })
        .collect())
}

fn one_with_count(conn: &mut AnyConnection, org: OrgRow) -> Result<Organization, ServiceError> {
    let member_count = orgs::member_counts(conn, &[org.id.0])?.get(&org.id.0).copied().unwrap_or(0);
    Ok(organization(org, member_count))
}

fn changes_for(update: &OrganizationUpdate, now: DateTime<Utc>) -> Result<OrgChanges, ServiceError> {
    let (name, slug) = check_name_and_slug(update.name.as_deref(), update.slug.as_deref())?;
    check_content(
        update.description.as_ref().and_then(Option::as_deref),
        update.settings.as_ref().and_then(Option::as_ref),
    )?;
    Ok(OrgChanges {
        name,
        slug,
        description: update.description.clone(),
        is_active: update.is_active,
        settings: update.settings.clone().map(|s| s.map(Json)),
        updated_at: Ts(now),
    })
}

/// The longest `description` accepted, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;

/// What an organization writes for its members is bounded: `description` at most
/// [`DESCRIPTION_MAX_CHARS`], `settings` like a user's `preferences` (16 KiB of JSON, 8 levels).
fn check_content(description: Option<&str>, settings: Option<&Value>) -> Result<(), ServiceError> {
    let mut errors = Vec::new();
    if description.is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS) {
        errors.push(DomainError::constraint(
            "description",
            format!("String should have at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    if let Some(Err(e)) = settings.map(|s| check_json_store("settings", "Settings", s)) {
        errors.push(e);
    }
    if errors.is_empty() { Ok(()) } else { Err(ServiceError::Validation(errors)) }
}

/// Updates inside the caller's transaction; maps a taken slug to 409.
fn apply_update(c: &mut AnyConnection, org_id: uuid::Uuid, changes: &OrgChanges) -> Result<OrgRow, ServiceError> {
    orgs::update(c, org_id, changes).map_err(|e| match e {
        DbError::NotFound => org_not_found(org_id),
        e if orgs::is_slug_conflict(&e) => slug_taken(changes.slug.as_deref().unwrap_or_default()),
        e => e.into(),
    })
}
