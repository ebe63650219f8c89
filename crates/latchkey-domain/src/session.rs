//! Session lifetimes and the words for what happens to sessions.

use chrono::{DateTime, Duration, Utc};

/// How long tokens and sessions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetimes {
    /// Access token lifetime.
    pub access: Duration,
    /// Refresh token lifetime; each refresh slides the session's expiry by this much.
    pub refresh: Duration,
    /// Absolute cap from login: no refresh extends a session past it.
    pub absolute: Duration,
}

impl SessionLifetimes {
    /// The session's expiry after a login or refresh at `now`: slid by `refresh`, capped at the absolute end.
    pub fn refresh_expiry(&self, now: DateTime<Utc>, absolute_expires_at: DateTime<Utc>) -> DateTime<Utc> {
        (now + self.refresh).min(absolute_expires_at)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($text => Ok($name::$variant),)+ other => Err(format!("unknown {}: {other}", stringify!($name))) }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// Why a session ended.
    RevokeReason {
        Logout => "logout",
        LogoutAll => "logout_all",
        LogoutOthers => "logout_others",
        UserRevoked => "user_revoked",
        AdminRevoked => "admin_revoked",
        PasswordChanged => "password_changed",
        PasswordReset => "password_reset",
        RefreshTokenReuse => "refresh_token_reuse",
        UserDeactivated => "user_deactivated",
        UserDeleted => "user_deleted",
        Evicted => "evicted",
        // The user said "not me" to a new-device alert about this session.
        Disowned => "disowned",
    }
}

string_enum! {
    /// What a security event records.
    SecurityEventKind {
        LoginSucceeded => "login_succeeded",
        LoginFailed => "login_failed",
        Logout => "logout",
        SessionRevoked => "session_revoked",
        RefreshTokenReuse => "refresh_token_reuse",
        PasswordChanged => "password_changed",
        PasswordReset => "password_reset",
        // A login from a device (or country) the account had not used within `KNOWN_DEVICE_DAYS`: an alert
        // was sent; and the user's "not me" answer to one (the session ended, a reset link was sent).
        NewDeviceLogin => "new_device_login",
        LoginDisowned => "login_disowned",
        // Administrative actions (the audit trail; the acting administrator is recorded with them).
        UserCreated => "user_created",
        UserUpdated => "user_updated",
        UserActivated => "user_activated",
        UserDeactivated => "user_deactivated",
        UserDeleted => "user_deleted",
        OrganizationCreated => "organization_created",
        OrganizationUpdated => "organization_updated",
        OrganizationDeleted => "organization_deleted",
        MemberAdded => "member_added",
        MemberRemoved => "member_removed",
    }
}

impl SecurityEventKind {
    /// Whether the user whose account an event concerns sees it in `GET /sessions/me/history`: their
    /// logins, logouts, revocations (an administrator's included), token reuse, password changes, new-device
    /// alerts and the "not me" answers to them. The
    /// administrative bookkeeping around them stays in the audit trail.
    pub fn in_user_history(self) -> bool {
        match self {
            SecurityEventKind::LoginSucceeded
            | SecurityEventKind::LoginFailed
            | SecurityEventKind::Logout
            | SecurityEventKind::SessionRevoked
            | SecurityEventKind::RefreshTokenReuse
            | SecurityEventKind::PasswordChanged
            | SecurityEventKind::PasswordReset
            | SecurityEventKind::NewDeviceLogin
            | SecurityEventKind::LoginDisowned => true,
            SecurityEventKind::UserCreated
            | SecurityEventKind::UserUpdated
            | SecurityEventKind::UserActivated
            | SecurityEventKind::UserDeactivated
            | SecurityEventKind::UserDeleted
            | SecurityEventKind::OrganizationCreated
            | SecurityEventKind::OrganizationUpdated
            | SecurityEventKind::OrganizationDeleted
            | SecurityEventKind::MemberAdded
            | SecurityEventKind::MemberRemoved => false,
        }
    }

    /// The kinds a user's history shows, as stored.
    pub fn user_history_kinds() -> Vec<&'static str> {
        Self::ALL.iter().filter(|k| k.in_user_history()).map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn refresh_never_passes_the_absolute_end() {
        let l = SessionLifetimes {
            access: Duration::minutes(15),
            refresh: Duration::days(7),
            absolute: Duration::days(30),
        };
        let login = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let end = login + l.absolute;
        assert_eq!(l.refresh_expiry(login, end), login + Duration::days(7));
        assert_eq!(l.refresh_expiry(login + Duration::days(28), end), end);
    }

    #[test]
    fn names_round_trip() {
        for r in RevokeReason::ALL {
            assert_eq!(r.as_str().parse::<RevokeReason>().unwrap(), *r);
        }
        for k in SecurityEventKind::ALL {
            assert_eq!(k.as_str().parse::<SecurityEventKind>().unwrap(), *k);
        }
        assert!("nope".parse::<RevokeReason>().is_err());
    }
}
