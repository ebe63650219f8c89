//! Operational counters, recorded where the events happen, through the `metrics` facade. The facade is
//! not HTTP: it only hands numbers to whatever recorder the binary installed (the HTTP crate installs a
//! Prometheus one; without a recorder every call here is a no-op). Counters are recorded after the
//! transaction that made the event true has committed, so a rolled-back revocation is never counted —
//! except in the admin actions (`accounts::end_sessions`, `admin_sessions::revoke_session`), which count as their
//! transaction's last step.
//!
//! The names and labels are part of the operator's contract (dashboards and alert rules use them; see
//! `docs/operations.md`): change them only with the documentation.

use metrics::counter;

/// `latchkey_logins_total{outcome}`: `succeeded`, `failed` (wrong password, unknown email, inactive
/// account) or `throttled` (the per-account throttle refused the attempt).
pub const LOGINS: &str = "latchkey_logins_total";
/// `latchkey_refreshes_total{outcome}`: `rotated` or `refused`.
pub const REFRESHES: &str = "latchkey_refreshes_total";
/// `latchkey_refresh_token_reuse_total`: old refresh tokens presented after the grace window (each one
/// revoked its session).
pub const REUSE_DETECTED: &str = "latchkey_refresh_token_reuse_total";
/// `latchkey_sessions_created_total`: sessions opened by a login.
pub const SESSIONS_CREATED: &str = "latchkey_sessions_created_total";
/// `latchkey_sessions_revoked_total{reason}`: sessions ended, by the reason stored on the session.
pub const SESSIONS_REVOKED: &str = "latchkey_sessions_revoked_total";
/// `latchkey_password_resets_total{step}`: `requested` (a link was issued) or `completed`.
pub const PASSWORD_RESETS: &str = "latchkey_password_resets_total";
/// `latchkey_new_device_alerts_total{outcome}`: alert emails `queued`, or `dropped` because the mail queue
/// was full.
pub const NEW_DEVICE_ALERTS: &str = "latchkey_new_device_alerts_total";

/// How a login attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Succeeded,
    Failed,
    Throttled,
}

impl LoginOutcome {
    fn label(self) -> &'static str {
        match self {
            LoginOutcome::Succeeded => "succeeded",
            LoginOutcome::Failed => "failed",
            LoginOutcome::Throttled => "throttled",
        }
    }
}

/// One login attempt.
pub fn login(outcome: LoginOutcome) {
    counter!(LOGINS, "outcome" => outcome.label()).increment(1);
}

/// One refresh, rotated or refused.
pub fn refresh(rotated: bool) {
    counter!(REFRESHES, "outcome" => if rotated { "rotated" } else { "refused" }).increment(1);
}

/// One detected refresh-token reuse.
pub fn reuse_detected() {
    counter!(REUSE_DETECTED).increment(1);
}

/// One session opened.
pub fn session_created() {
    counter!(SESSIONS_CREATED).increment(1);
}

/// `n` sessions ended for `reason` (a `RevokeReason` string). Zero is not recorded, so that a label
/// appears only once it happened.
pub fn sessions_revoked(reason: &'static str, n: usize) {
    if n > 0 {
        counter!(SESSIONS_REVOKED, "reason" => reason).increment(n as u64);
    }
}

/// A password-reset link was issued.
pub fn alert(queued: bool) {
    counter!(NEW_DEVICE_ALERTS, "outcome" => if queued { "queued" } else { "dropped" }).increment(1);
}

/// One password-reset link issued.
pub fn password_reset_requested() {
    counter!(PASSWORD_RESETS, "step" => "requested").increment(1);
}

/// A password reset set a new password.
pub fn password_reset_completed() {
    counter!(PASSWORD_RESETS, "step" => "completed").increment(1);
}
