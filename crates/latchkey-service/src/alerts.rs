//! New-device sign-in alerts. A successful login is *from a new device* when, within the last
//! `KNOWN_DEVICE_DAYS`, the account had no successful login with the same device key — the client's
//! `X-Device-Id` when it sends one, else the device name its User-Agent gives — or when its country is known
//! and differs from every such login's. The account's first login ever is not alerted.
//!
//! The decision is taken inside the login's transaction, which holds the user's row lock: concurrent logins
//! of one account decide one after another, each seeing the ones before it committed, so a burst of logins
//! from one new device sends one alert. The alert is an event (`new_device_login`) and an email with a
//! "not me" link, queued after the commit: the login never waits for the mail.

use chrono::{DateTime, Utc};
use latchkey_db::models::UserRow;
use latchkey_db::repo::alerts;
use latchkey_db::{AnyConnection, Ts};
use latchkey_domain::{DeviceInfo, SecurityEventKind};
use serde_json::json;

use crate::error::ServiceError;
use crate::events::{EventContext, record_event};
use crate::mail::{Email, NewSignIn, new_sign_in_email};
use crate::services::Services;

/// The path of the "not me" page, below `PUBLIC_URL`.
pub const NOT_ME_PATH: &str = "/api/v1/auth/not-me";

/// Judges a successful login about to open `session_id` for `user` from `device`, inside the login's
/// transaction `c` (the user's row locked, the login's own `login_succeeded` event not yet written). For a
/// new device: records `new_device_login` and returns the alert email, to queue once the transaction has
/// committed. The account's first login is marked here whether or not alerts are on.
pub(crate) fn judge_login(
    svc: &Services,
    c: &mut AnyConnection,
    user: &UserRow,
    session_id: uuid::Uuid,
    device: &DeviceInfo,
    now: DateTime<Utc>,
) -> Result<Option<Email>, ServiceError> {
    let first_login = alerts::mark_first_login(c, user.id.0, Ts(now))?;
    if first_login || !svc.alerts.enabled {
        return Ok(None);
    }
    let since = Ts(now - svc.policy.known_device);
    let known_device = alerts::known_device(c, user.id.0, since, device.device_id.as_deref(), &device.device_name)?;
    let new_country = match &device.location.country {
        Some(country) => !alerts::known_country(c, user.id.0, since, country)?,
        None => false,
    };
    if known_device && !new_country {
        return Ok(None);
    }
    let alert_id = uuid::Uuid::new_v4();
    let reason = if known_device { "new_country" } else { "new_device" };
    record_event(
        c,
        now,
        SecurityEventKind::NewDeviceLogin,
        EventContext { user_id: Some(user.id.0), session_id: Some(session_id), device: Some(device) },
        Some(json!({"alert_id": alert_id, "reason": reason})),
    )?;
    let token = svc.alert_tokens.issue(alert_id, user.id.0, session_id, now);
    let link = format!("{}{NOT_ME_PATH}?token={token}", svc.alerts.public_url);
    Ok(Some(new_sign_in_email(
        &user.email,
        &NewSignIn {
            device: &device.device_name,
            ip_address: device.ip_address.as_deref(),
            location: &device.location,
            at: now,
            link: &link,
        },
    )))
}

/// Queues an alert email; a full queue drops it (counted and logged), never blocking the login.
pub(crate) fn send(svc: &Services, email: Email) {
    crate::counters::alert(svc.mail.enqueue(email));
}
