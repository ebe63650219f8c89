//! Who is calling: [`Authenticated`], the caller the authentication check at the door admitted
//! ([`crate::door`]), and [`Caller`], the caller admitted again at the desk, inside the transaction of a change.
//!
//! Admission at the desk: who may make a change is decided inside the transaction that makes it.
//!
//! The authentication check at the door ([`crate::door::authenticate`]) admits a request when its headers
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
use latchkey_db::models::{SessionRow, UserRow};
use latchkey_db::repo::organizations as orgs;
use latchkey_db::repo::{sessions, users};
use latchkey_db::{AnyConnection, Db};
use latchkey_domain::Role;

use crate::authz;
use crate::error::ServiceError;
use crate::views::{Session, User};

/// What the authentication check answers clients; kept in one place so tests and handlers agree.
pub mod messages {
    pub const SESSION_REVOKED: &str = "Session has been revoked";
    pub const TOKEN_EXPIRED: &str = "Token expired";
    pub const BAD_CREDENTIALS: &str = "Could not validate credentials";
    pub const INACTIVE_USER: &str = "Inactive user";
}

/// A request that passed the authentication check: the caller's account and session as views (their
/// fields moved out of the rows the check loaded, never copied).
#[derive(Clone)]
pub struct Authenticated {
    pub user: User,
    pub session: Session,
    /// What a password check (`PATCH /users/me/password`) verifies against; it never leaves this crate.
    password_hash: Option<String>,
}

/// Leaves the password hash out.
impl std::fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticated")
            .field("user", &self.user)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Authenticated {
    pub(crate) fn new(user: User, session: Session, password_hash: Option<String>) -> Authenticated {
        Authenticated { user, session, password_hash }
    }

    /// The caller as the authentication check would see them, from their rows (tests build callers with
    /// it; requests get theirs from `authenticate`).
    pub fn from_rows(mut user: UserRow, session: SessionRow) -> Authenticated {
        let password_hash = user.password_hash.take();
        Authenticated::new(user.into(), session.into(), password_hash)
    }

    /// An active caller with a session live for 7 days from `now` (unit tests of this crate).
    #[cfg(test)]
    pub(crate) fn for_tests(superuser: bool, now: DateTime<Utc>) -> Authenticated {
        let user = User {
            id: uuid::Uuid::new_v4(),
            email: "a@example.com".into(),
            first_name: "A".into(),
            last_name: None,
            phone_number: None,
            is_active: true,
            is_superuser: superuser,
            preferences: None,
            locale: None,
            deleted_at: None,
            created_at: now,
            updated_at: now,
        };
        let session = Session {
            id: uuid::Uuid::new_v4(),
            user_id: user.id,
            device_name: Some("Phone".into()),
            device_id: None,
            ip_address: None,
            location_city: None,
            location_country: None,
            last_used_at: now,
            created_at: now,
            expires_at: now + chrono::Duration::days(7),
            is_active: true,
            revoked_at: None,
            revoked_reason: None,
        };
        Authenticated::new(user, session, Some("$argon2id$hash".into()))
    }

    /// The caller's user id.
    pub fn user_id(&self) -> uuid::Uuid {
        self.user.id
    }

    /// The caller's session id.
    pub fn session_id(&self) -> uuid::Uuid {
        self.session.id
    }

    /// The caller's stored password hash (`None` for an account without a password).
    pub(crate) fn password_hash(&self) -> Option<&str> {
        self.password_hash.as_deref()
    }

    /// Refuses a caller who is not a superuser (as the door saw them) with 403 `AUTH_004` and `message`: a
    /// quick refusal before any work; the decision that counts is [`Caller::superuser`], at the desk.
    pub fn require_superuser(&self, message: &str) -> Result<(), ServiceError> {
        if self.user.is_superuser { Ok(()) } else { Err(ServiceError::Forbidden(message.to_owned())) }
    }
}

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

/// Runs a superuser's read at `now`: admits the caller on a connection of `db` (without locks: a read
/// changes nothing), takes the superuser capability (403 `AUTH_004` with `refusal` for anyone else) and
/// reads with it.
pub fn as_superuser<T>(
    db: &Db,
    now: DateTime<Utc>,
    door: &Authenticated,
    refusal: &str,
    read: impl FnOnce(&mut AnyConnection, &Superuser<'_>) -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let mut conn = db.conn()?;
    let caller = Caller::current(&mut conn, door, now)?;
    let admin = caller.superuser(refusal)?;
    read(&mut conn, &admin)
}
