//! Admission at the desk: who may make a change is decided inside the transaction that makes it.
//!
//! The authentication check at the door ([`crate::auth::authenticate`]) admits a request when its headers
//! arrive. A change is made later — after its body arrived, after a password was hashed — and by then the
//! caller may have been logged out everywhere, deactivated, deleted, demoted or removed from the
//! organization. So every use case that changes something re-admits its caller inside its own write
//! transaction, and only then acts:
//!
//! 1. [`Caller::readmit`] locks the caller's user row (PostgreSQL `FOR UPDATE`; SQLite's writing
//!    transactions are serial) and share-locks their session, then checks what the door checked: the
//!    session is the user's, active and unexpired; the user is not deleted and is active. The user row is
//!    the lock that orders every change to an account and its sessions (admin actions, password changes,
//!    logins, logouts all take it first), so the answer holds until the change commits.
//! 2. The role the action needs is a capability taken from that [`Caller`]: [`Caller::superuser`] for the
//!    admin API, [`Caller::org_role`] for an organization (the membership row share-locked likewise).
//!
//! The values are the proof: their fields are private and only this module makes them, so a function
//! that takes a [`Superuser`] or an [`OrgRole`] cannot be reached without the check. Reads take the same
//! capabilities, made from a fresh, unlocked read ([`Caller::current`]) on the connection that reads.

use chrono::{DateTime, Utc};
use latchkey_db::AnyConnection;
use latchkey_db::models::{SessionRow, UserRow};
use latchkey_db::repo::organizations as orgs;
use latchkey_db::repo::{sessions, users};
use latchkey_domain::Role;

use crate::auth::{Authenticated, messages};
use crate::authz;
use crate::error::ServiceError;
use crate::services::Services;

/// The caller of a use case as the database says now: admitted, with their user row as read (and, in a
/// write transaction, locked) at admission.
#[derive(Debug)]
pub struct Caller {
    user: UserRow,
    session: SessionRow,
    /// Admitted under locks inside a write transaction ([`Caller::readmit`]), rather than read.
    locked: bool,
}

impl Caller {
    /// Re-admits the caller the door admitted, inside the write transaction `c` of the change: locks their
    /// user row, then share-locks their session (always in this order, the order every change of an
    /// account takes), and checks both. 401 `Session has been revoked` for an ended session or a deleted
    /// user, 403 `Inactive user` for a deactivated one.
    pub fn readmit(c: &mut AnyConnection, door: &Authenticated, now: DateTime<Utc>) -> Result<Caller, ServiceError> {
        Caller::readmit_with(c, door, &[], now).map(|(caller, _)| caller)
    }

    /// [`Caller::readmit`] for a change to other accounts too: the caller's row and the `targets`' rows are
    /// locked in one statement, in id order (so two administrators acting on each other cannot deadlock),
    /// before the caller's session. Returns the caller and the locked targets that exist, in id order.
    pub fn readmit_with(
        c: &mut AnyConnection,
        door: &Authenticated,
        targets: &[uuid::Uuid],
        now: DateTime<Utc>,
    ) -> Result<(Caller, Vec<UserRow>), ServiceError> {
        let mut ids = targets.to_vec();
        ids.push(door.user_id());
        let mut rows = users::lock(c, &ids)?;
        let session = sessions::find_shared(c, door.session_id())?;
        let user = rows
            .iter()
            .position(|u| u.id.0 == door.user_id())
            .map(|at| if targets.contains(&door.user_id()) { rows[at].clone() } else { rows.remove(at) });
        let caller = Caller { locked: true, ..Caller::admit(user, session, door, now)? };
        Ok((caller, rows))
    }

    /// The caller as the database says now, without locks: for reads, which change nothing.
    pub fn current(c: &mut AnyConnection, door: &Authenticated, now: DateTime<Utc>) -> Result<Caller, ServiceError> {
        let found = sessions::find_with_user(c, door.session_id())?;
        let (session, user) = found.map_or((None, None), |(s, u)| (Some(s), Some(u)));
        Caller::admit(user, session, door, now)
    }

    fn admit(
        user: Option<UserRow>,
        session: Option<SessionRow>,
        door: &Authenticated,
        now: DateTime<Utc>,
    ) -> Result<Caller, ServiceError> {
        let revoked = || ServiceError::Unauthenticated(messages::SESSION_REVOKED);
        let (Some(user), Some(session)) = (user, session) else { return Err(revoked()) };
        if user.id.0 != door.user_id() || session.user_id != user.id {
            return Err(revoked());
        }
        if !session.is_active || session.expires_at.0 <= now || user.deleted_at.is_some() {
            return Err(revoked());
        }
        if !user.is_active {
            return Err(ServiceError::Forbidden(messages::INACTIVE_USER.into()));
        }
        Ok(Caller { user, session, locked: false })
    }

    /// The caller's user id.
    pub fn user_id(&self) -> uuid::Uuid {
        self.user.id.0
    }

    /// The caller's session id.
    pub fn session_id(&self) -> uuid::Uuid {
        self.session.id.0
    }

    /// The caller's account as admitted.
    pub fn user(&self) -> &UserRow {
        &self.user
    }

    /// The caller's session as admitted.
    pub fn session(&self) -> &SessionRow {
        &self.session
    }

    /// Whether the caller is a superuser now.
    pub fn is_superuser(&self) -> bool {
        self.user.is_superuser
    }

    /// The superuser capability; 403 `AUTH_004` with `message` for anyone else.
    pub fn superuser(&self, message: &str) -> Result<Superuser<'_>, ServiceError> {
        if self.user.is_superuser {
            Ok(Superuser { caller: self })
        } else {
            Err(ServiceError::Forbidden(message.to_owned()))
        }
    }

    /// The capability to act in organization `org_id` with one of the `allowed` roles (a superuser may do
    /// anything). For a caller admitted by [`Caller::readmit`] the active membership is read share-locked on
    /// PostgreSQL, so a concurrent removal or demotion waits for the change or is seen by it. Refuses with
    /// 403 before anyone learns whether the organization exists.
    pub fn org_role(
        &self,
        c: &mut AnyConnection,
        org_id: uuid::Uuid,
        allowed: &[Role],
    ) -> Result<OrgRole<'_>, ServiceError> {
        let role = match (self.user.is_superuser, self.locked) {
            (true, _) => None,
            (false, true) => orgs::active_role_shared(c, org_id, self.user_id())?,
            (false, false) => orgs::active_role(c, org_id, self.user_id())?,
        };
        authz::check_org_role(self.user.is_superuser, role, allowed)?;
        Ok(OrgRole { caller: self, org_id, role })
    }
}

/// Proof that the caller is a superuser now. Only [`Caller::superuser`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct Superuser<'a> {
    caller: &'a Caller,
}

impl Superuser<'_> {
    /// The administrator's user id (the actor of the audit trail).
    pub fn user_id(&self) -> uuid::Uuid {
        self.caller.user_id()
    }

    /// The administrator as admitted.
    pub fn caller(&self) -> &Caller {
        self.caller
    }
}

/// Proof that the caller may act in one organization with a role it allows (or is a superuser). Only
/// [`Caller::org_role`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct OrgRole<'a> {
    caller: &'a Caller,
    org_id: uuid::Uuid,
    /// The caller's role there; `None` for a superuser without one.
    role: Option<Role>,
}

impl OrgRole<'_> {
    /// The organization this capability is for.
    pub fn org_id(&self) -> uuid::Uuid {
        self.org_id
    }

    /// The caller's role in the organization (`None` for a superuser who is not a member).
    pub fn role(&self) -> Option<Role> {
        self.role
    }

    /// Whether the caller acts as a superuser here.
    pub fn is_superuser(&self) -> bool {
        self.caller.is_superuser()
    }
}

/// Runs a superuser's read: admits the caller on a connection (without locks: a read changes nothing), takes
/// the superuser capability (403 `AUTH_004` with `refusal` for anyone else) and reads with it.
pub fn as_superuser<T>(
    svc: &Services,
    door: &Authenticated,
    refusal: &str,
    read: impl FnOnce(&mut AnyConnection, &Superuser<'_>) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut conn = svc.db.conn()?;
    let caller = Caller::current(&mut conn, door, svc.now())?;
    let admin = caller.superuser(refusal)?;
    read(&mut conn, &admin)
}
