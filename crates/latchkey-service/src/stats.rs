//! The admin dashboard's statistics (`GET /admin/stats`): user growth, registrations, active and inactive
//! accounts, the largest organizations.

use chrono::{Duration, NaiveDate};
use latchkey_db::Ts;
use latchkey_db::repo::{stats, users};

use crate::authz;
use crate::caller::{Authenticated, as_superuser};
use crate::error::ServiceError;
use crate::services::Services;

/// The admin dashboard's figures, from the database as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The last 30 UTC days, oldest first: accounts that existed at the end of each day (soft-deleted ones
    /// included, as in the reference), and how many of them are active now.
    pub user_growth: Vec<GrowthDay>,
    /// The six organizations with the most active members, largest first.
    pub organization_distribution: Vec<(String, i64)>,
    /// The last 14 UTC days, oldest first: accounts created that day (since deleted ones included).
    pub registration_activity: Vec<(NaiveDate, i64)>,
    /// Accounts (soft-deleted ones included) that are active, and that are not.
    pub active_users: i64,
    pub inactive_users: i64,
}

/// One day of [`Stats::user_growth`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrowthDay {
    pub date: NaiveDate,
    pub total_users: i64,
    pub active_users: i64,
}

/// Days shown by the growth chart and the registrations chart.
const GROWTH_DAYS: i64 = 30;
const REGISTRATION_DAYS: i64 = 14;
/// Organizations shown by the distribution chart.
const TOP_ORGANIZATIONS: i64 = 6;

/// `GET /admin/stats`. Three queries over `users` (two counts and the rows created in the last 30
/// days) and one grouped query over memberships, however large the tables.
pub fn stats(svc: &Services, door: &Authenticated) -> Result<Stats, ServiceError> {
    let now = svc.now();
    let today = now.date_naive();
    let first_day = today - Duration::days(GROWTH_DAYS - 1);
    let start = first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let (growth, organization_distribution) =
        as_superuser(&svc.db, svc.now(), door, authz::SUPERUSER_REQUIRED, |c, _| {
            Ok((users::growth_since(c, Ts(start))?, stats::organization_distribution(c, TOP_ORGANIZATIONS)?))
        })?;
    let user_growth: Vec<GrowthDay> = (0..GROWTH_DAYS)
        .map(|offset| {
            let date = first_day + Duration::days(offset);
            let end = (date + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            let created: Vec<bool> =
                growth.created.iter().filter(|(created, _)| created.0 < end).map(|(_, active)| *active).collect();
            GrowthDay {
                date,
                total_users: growth.total_before + count(created.len()),
                active_users: growth.active_before + count(created.iter().filter(|a| **a).count()),
            }
        })
        .collect();
    let registration_activity = (0..REGISTRATION_DAYS)
        .map(|offset| {
            let date = today - Duration::days(REGISTRATION_DAYS - 1 - offset);
            (date, count(growth.created.iter().filter(|(created, _)| created.0.date_naive() == date).count()))
        })
        .collect();
    let last = user_growth.last().copied().unwrap_or(GrowthDay { date: today, total_users: 0, active_users: 0 });
    Ok(Stats {
        user_growth,
        organization_distribution,
        registration_activity,
        active_users: last.active_users,
        inactive_users: last.total_users - last.active_users,
    })
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
