//! Who may do what, beyond being logged in: superuser-only operations, and roles in an organization.
//! One place words every refusal, so the admin API, the users API and the organizations API agree.

use latchkey_domain::Role;

use crate::error::ServiceError;

/// The admin router's refusal (the reference's `require_superuser`).
pub const SUPERUSER_REQUIRED: &str = "Superuser privileges required";
/// The users router's refusal for superuser-only operations (the reference's `get_current_superuser`).
pub const NOT_ENOUGH_PERMISSIONS: &str = "Not enough permissions";
/// `GET /users/{id}` on someone else's account, by a caller who is not a superuser.
pub const CANNOT_VIEW: &str = "Not enough permissions to view this user";
/// `PATCH /users/{id}` on someone else's account, by a caller who is not a superuser.
pub const CANNOT_UPDATE: &str = "Not enough permissions to update this user";
/// An administrator deleting their own account.
pub const CANNOT_DELETE_SELF: &str = "Cannot delete your own account";
/// A superuser deactivating their own account (the last superuser could lock everyone out of the admin API).
pub const CANNOT_DEACTIVATE_SELF: &str = "Cannot deactivate your own account";
/// A caller with no active membership in the organization (also what a missing organization looks like
/// to a non-superuser: existence is never revealed to outsiders).
pub const NOT_A_MEMBER: &str = "Not a member of this organization";

/// Any active member may read an organization and its member list.
pub const ORG_READERS: &[Role] = Role::ALL;
/// Owners and admins manage an organization (update it, manage its members).
pub const ORG_MANAGERS: &[Role] = &[Role::Owner, Role::Admin];

/// The organization-role rule: a superuser may do anything; anyone else needs an active membership
/// (`membership`, the caller's role in the organization, `None` when they have no active membership)
/// with one of the `allowed` roles. Check this before looking the organization up, so a non-member cannot
/// tell a missing organization from one they may not see.
pub fn check_org_role(is_superuser: bool, membership: Option<Role>, allowed: &[Role]) -> Result<(), ServiceError> {
    if is_superuser {
        return Ok(());
    }
    match membership {
        None => Err(ServiceError::Forbidden(NOT_A_MEMBER.to_owned())),
        Some(role) if allowed.contains(&role) => Ok(()),
        Some(_) => Err(ServiceError::Forbidden(format!("Requires role {} in this organization", or_list(allowed)))),
    }
}

/// `owner`, `owner or admin`, `owner, admin or member`.
fn or_list(roles: &[Role]) -> String {
    match roles.split_last() {
        None => String::new(),
        Some((last, [])) => last.as_str().to_owned(),
        Some((last, rest)) => {
            let rest: Vec<&str> = rest.iter().map(|r| r.as_str()).collect();
            format!("{} or {}", rest.join(", "), last.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Authenticated;

    fn caller(superuser: bool) -> Authenticated {
        Authenticated::for_tests(superuser, chrono::DateTime::UNIX_EPOCH)
    }

    fn refusal(r: Result<(), ServiceError>) -> String {
        match r {
            Err(ServiceError::Forbidden(m)) => m,
            other => panic!("expected a 403, got {other:?}"),
        }
    }

    #[test]
    fn the_role_matrix() {
        for role in Role::ALL {
            assert!(check_org_role(false, Some(*role), ORG_READERS).is_ok(), "{role} reads");
        }
        assert!(check_org_role(false, Some(Role::Owner), ORG_MANAGERS).is_ok());
        assert!(check_org_role(false, Some(Role::Admin), ORG_MANAGERS).is_ok());
        for role in [Role::Member, Role::Guest] {
            assert_eq!(
                refusal(check_org_role(false, Some(role), ORG_MANAGERS)),
                "Requires role owner or admin in this organization"
            );
        }
        assert_eq!(refusal(check_org_role(false, None, ORG_READERS)), NOT_A_MEMBER);
        assert_eq!(refusal(check_org_role(false, None, ORG_MANAGERS)), NOT_A_MEMBER);
        assert_eq!(
            refusal(check_org_role(false, Some(Role::Admin), &[Role::Owner])),
            "Requires role owner in this organization"
        );
        assert!(check_org_role(true, None, ORG_MANAGERS).is_ok(), "a superuser bypasses every role check");
        assert!(check_org_role(true, Some(Role::Guest), ORG_MANAGERS).is_ok());
    }

    #[test]
    fn superuser_only() {
        assert!(caller(true).require_superuser(SUPERUSER_REQUIRED).is_ok());
        assert_eq!(refusal(caller(false).require_superuser(SUPERUSER_REQUIRED)), SUPERUSER_REQUIRED);
        assert_eq!(or_list(&[Role::Owner, Role::Admin, Role::Member]), "owner, admin or member");
    }
}
