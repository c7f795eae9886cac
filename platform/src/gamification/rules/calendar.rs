//! Local-calendar arithmetic: days and Monday-based weeks in the user's IANA timezone.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::error::RulesError;

/// Parses the IANA timezone name stored on the user's profile.
pub fn parse_timezone(name: &str) -> Result<Tz, RulesError> {
    name.parse::<Tz>()
        .map_err(|_| RulesError::UnknownTimezone(name.to_owned()))
}

/// The user's local calendar day at an instant.
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The Monday on or before a day.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    let back = u64::from(day.weekday().num_days_from_monday());
    day.checked_sub_days(Days::new(back)).unwrap_or(day)
}

/// The Monday (local) of the week containing an instant.
pub fn week_start(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    monday_of(local_day(tz, at))
}

/// Whole local days left in the week including today: 7 on Monday, 1 on Sunday.
pub fn days_remaining_in_week(tz: Tz, now: DateTime<Utc>) -> u32 {
    7 - local_day(tz, now).weekday().num_days_from_monday()
}

/// Adds days without panicking at the end of chrono's calendar.
pub(super) fn add_days(day: NaiveDate, n: u64) -> NaiveDate {
    day.checked_add_days(Days::new(n)).unwrap_or(day)
}

/// Whether `day` falls in the week starting on `week_start`.
pub(super) fn in_week(week_start: NaiveDate, day: NaiveDate) -> bool {
    day >= week_start && day < add_days(week_start, 7)
}

/// The first instant of a local day, in UTC.
///
/// A DST jump can skip local midnight (it did in e.g. America/Sao_Paulo), so the day
/// then starts at the first local time that exists; in an overlap the earlier one wins.
pub fn local_midnight_utc(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    for quarter_hours in 0..=16u32 {
        let time = NaiveTime::from_hms_opt(quarter_hours / 4, (quarter_hours % 4) * 15, 0);
        if let Some(time) = time {
            if let Some(start) = tz.from_local_datetime(&day.and_time(time)).earliest() {
                return start.with_timezone(&Utc);
            }
        }
    }
    // No real zone skips four hours; fall back to UTC midnight rather than panic.
    day.and_time(NaiveTime::MIN).and_utc()
}

/// When the week that starts on `week_start` begins, in UTC.
pub fn week_start_utc(tz: Tz, week_start: NaiveDate) -> DateTime<Utc> {
    local_midnight_utc(tz, week_start)
}

/// When the next local week begins (schedule the weekly sweep for this instant).
pub fn next_week_start_utc(tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    local_midnight_utc(tz, add_days(week_start(tz, now), 7))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Asia::Kolkata;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test timestamp")
            .with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn local_day_follows_the_users_zone_not_utc() {
        // 03:30 UTC is still the previous evening in New York and already morning in Kolkata.
        let at = utc("2025-03-04T03:30:00Z");
        assert_eq!(local_day(New_York, at), date("2025-03-03"));
        assert_eq!(local_day(Kolkata, at), date("2025-03-04"));
        assert_eq!(local_day(Tz::UTC, at), date("2025-03-04"));
    }

    #[test]
    fn week_boundary_is_monday_midnight_local() {
        // Monday 2025-03-10 00:00 in New York (EDT, UTC-4) is 04:00 UTC.
        let last_second_of_sunday = utc("2025-03-10T03:59:59Z");
        let monday_midnight = utc("2025-03-10T04:00:00Z");
        assert_eq!(
            week_start(New_York, last_second_of_sunday),
            date("2025-03-03")
        );
        assert_eq!(week_start(New_York, monday_midnight), date("2025-03-10"));
        assert_eq!(days_remaining_in_week(New_York, last_second_of_sunday), 1);
        assert_eq!(days_remaining_in_week(New_York, monday_midnight), 7);
        assert_eq!(
            week_start_utc(New_York, date("2025-03-10")),
            monday_midnight
        );
    }

    #[test]
    fn next_week_start_crosses_dst_correctly() {
        // Sunday 2025-03-09 is the spring-forward day; the week starting 03-03 began at
        // 05:00 UTC (EST) and the next one starts at 04:00 UTC (EDT).
        let during = utc("2025-03-05T12:00:00Z");
        assert_eq!(
            week_start_utc(New_York, week_start(New_York, during)),
            utc("2025-03-03T05:00:00Z")
        );
        assert_eq!(
            next_week_start_utc(New_York, during),
            utc("2025-03-10T04:00:00Z")
        );
    }

    #[test]
    fn skipped_midnight_starts_the_day_at_the_first_existing_time() {
        // Sao Paulo skipped 00:00-01:00 on 2018-11-04 (DST started at midnight, UTC-3 -> UTC-2).
        let tz = chrono_tz::America::Sao_Paulo;
        assert_eq!(
            local_midnight_utc(tz, date("2018-11-04")),
            utc("2018-11-04T03:00:00Z")
        );
    }

    #[test]
    fn parse_timezone_rejects_unknown_names() {
        assert_eq!(parse_timezone("Asia/Kolkata"), Ok(Kolkata));
        assert_eq!(
            parse_timezone("Mars/Olympus"),
            Err(RulesError::UnknownTimezone("Mars/Olympus".into()))
        );
    }

    #[test]
    fn in_week_is_half_open() {
        let monday = date("2025-03-03");
        assert!(in_week(monday, monday));
        assert!(in_week(monday, date("2025-03-09")));
        assert!(!in_week(monday, date("2025-03-10")));
        assert!(!in_week(monday, date("2025-03-02")));
    }
}
