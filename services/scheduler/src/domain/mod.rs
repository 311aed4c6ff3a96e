//! Scheduler domain: reminder kinds and the occurrence life cycle, tenant
//! settings, who may do what, and the pure rules of dispatch and detectors.
//! No I/O here.
pub mod detectors;
pub mod dispatch;
pub mod recurrence;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::strings as s;

/// S0-39, S0-62: the four types of «Программа поддержки».
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// «Меры поддержки».
    Support,
    /// «Информация для Вас» (may be a yes/no question, S0-63).
    Info,
    /// «Дата встречи с соц. куратором» (S0-96, S0-97).
    Meeting,
    /// «Напоминание для соц. куратора»: never reaches the citizen (S0-64).
    CuratorNote,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Support, Kind::Info, Kind::Meeting, Kind::CuratorNote];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Support => "support",
            Kind::Info => "info",
            Kind::Meeting => "meeting",
            Kind::CuratorNote => "curator_note",
        }
    }

    pub fn parse(v: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == v)
    }

    /// The seed's own words for the type.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Support => s::KIND_SUPPORT,
            Kind::Info => s::KIND_INFO,
            Kind::Meeting => s::KIND_MEETING,
            Kind::CuratorNote => s::KIND_CURATOR_NOTE,
        }
    }

    /// Goes to the citizen's bot (everything but the curator's own notes).
    pub fn citizen_facing(self) -> bool {
        self != Kind::CuratorNote
    }
}

/// Where an occurrence is in its life: planned → sent → done / skipped, or
/// no_reaction after the grace period; paused by an exception; missed when
/// the dispatcher was down too long; notified for a curator note; cancelled
/// when removed (not shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Planned,
    Paused,
    Sent,
    Done,
    Skipped,
    NoReaction,
    Missed,
    Notified,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Planned,
        Status::Paused,
        Status::Sent,
        Status::Done,
        Status::Skipped,
        Status::NoReaction,
        Status::Missed,
        Status::Notified,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::Paused => "paused",
            Status::Sent => "sent",
            Status::Done => "done",
            Status::Skipped => "skipped",
            Status::NoReaction => "no_reaction",
            Status::Missed => "missed",
            Status::Notified => "notified",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(v: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|k| k.as_str() == v)
    }

    /// The calendar marker (S0-71, S0-75…S0-78). A curator note that came
    /// due is blue like a reminder that was sent: green would claim the
    /// citizen pressed «Выполнено», and nobody answers a curator note.
    pub fn colour(self) -> &'static str {
        match self {
            Status::Planned | Status::Sent | Status::Notified => "blue",
            Status::NoReaction => "yellow",
            Status::Done => "green",
            Status::Skipped => "red",
            Status::Paused => "black",
            Status::Missed => "grey",
            Status::Cancelled => "",
        }
    }

    /// The citizen may still press a button on it.
    pub fn answerable(self) -> bool {
        matches!(self, Status::Planned | Status::Sent | Status::NoReaction)
    }

    pub fn answer(self) -> Option<Answer> {
        match self {
            Status::Done => Some(Answer::Done),
            Status::Skipped => Some(Answer::Skipped),
            _ => None,
        }
    }
}

/// «Выполнено» / «Пропущено» (S0-57, S0-63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Done,
    Skipped,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Done => "done",
            Answer::Skipped => "skipped",
        }
    }
    pub fn status(self) -> Status {
        match self {
            Answer::Done => Status::Done,
            Answer::Skipped => Status::Skipped,
        }
    }
}

/// A tenant's scheduler settings; defaults apply until an admin saves some.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantSettings {
    pub time_zone: Tz,
    pub send_ahead_minutes: u32,
    pub grace_minutes: u32,
    pub skipped_days: u32,
    pub silent_days: u32,
    pub no_assignments_days: u32,
    pub no_assignments_enabled: bool,
    pub bot_rate_per_second: u32,
}

pub const DEFAULT_SEND_AHEAD_MINUTES: u32 = 30;
pub const DEFAULT_GRACE_MINUTES: u32 = 120;
pub const DEFAULT_SKIPPED_DAYS: u32 = 5;
pub const DEFAULT_SILENT_DAYS: u32 = 10;
pub const DEFAULT_NO_ASSIGNMENTS_DAYS: u32 = 2;
pub const DEFAULT_BOT_RATE: u32 = 30;

impl TenantSettings {
    pub fn defaults(time_zone: Tz) -> Self {
        Self {
            time_zone,
            send_ahead_minutes: DEFAULT_SEND_AHEAD_MINUTES,
            grace_minutes: DEFAULT_GRACE_MINUTES,
            skipped_days: DEFAULT_SKIPPED_DAYS,
            silent_days: DEFAULT_SILENT_DAYS,
            no_assignments_days: DEFAULT_NO_ASSIGNMENTS_DAYS,
            no_assignments_enabled: true,
            bot_rate_per_second: DEFAULT_BOT_RATE,
        }
    }

    /// The window a slot's reminders are released in (at least a minute,
    /// so a tenant that switched send-ahead off still gets a capacity).
    pub fn slot_window_minutes(&self) -> u32 {
        self.send_ahead_minutes.max(1)
    }

    /// How many reminders the bot sends within the slot window.
    pub fn slot_capacity(&self) -> u32 {
        self.bot_rate_per_second.saturating_mul(self.slot_window_minutes()).saturating_mul(60)
    }
}

/// Inclusive bounds of each numeric setting (the table's checks say the same).
pub const SEND_AHEAD_RANGE: (u32, u32) = (0, 720);
pub const GRACE_RANGE: (u32, u32) = (1, 10_080);
pub const DAYS_RANGE: (u32, u32) = (1, 365);
pub const RATE_RANGE: (u32, u32) = (1, 1000);

/// The roles the scheduler serves, by the names identity puts in tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub account_id: Uuid,
    pub admin: bool,
    pub curator: bool,
    pub bot: bool,
}

impl Access {
    pub fn new(account_id: Uuid, roles: &[String]) -> Self {
        let has = |r: &str| roles.iter().any(|x| x == r);
        Self { account_id, admin: has("admin"), curator: has("curator"), bot: has("bot") }
    }

    /// Admins and curators use the calendars and forms.
    pub fn is_staff(&self) -> bool {
        self.admin || self.curator
    }

    /// An admin: any citizen of the tenant; a curator: their own citizens.
    pub fn may_manage(&self, curator_of_citizen: Option<Uuid>) -> bool {
        self.admin || (self.curator && curator_of_citizen == Some(self.account_id))
    }

    /// Whose citizens a list covers: `None` every one, `Some(me)` a curator's own.
    pub fn own_only(&self) -> Option<Uuid> {
        if self.admin { None } else { Some(self.account_id) }
    }
}

/// The series a form describes, parsed: once held, it is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDraft {
    pub kind: Kind,
    pub description: String,
    pub rule: recurrence::Rule,
}

/// Longest «Описание задания» (a Telegram message holds 4096 characters,
/// and the date, time and type go in front).
pub const MAX_DESCRIPTION: usize = 3500;

/// A free text trimmed, required and not too long.
pub fn description(v: &str) -> Result<String, String> {
    let t = v.trim();
    if t.is_empty() {
        return Err(s::DESCRIPTION_REQUIRED.into());
    }
    if t.chars().count() > MAX_DESCRIPTION {
        return Err(s::description_too_long(MAX_DESCRIPTION));
    }
    Ok(t.to_string())
}

/// "YYYY-MM-DD".
pub fn date(v: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| s::DATE_INVALID.to_string())
}

/// "HH:MM" (24-hour).
pub fn time(v: &str) -> Result<NaiveTime, String> {
    let v = v.trim();
    let ok = v.len() == 5 && v.as_bytes()[2] == b':';
    ok.then(|| NaiveTime::parse_from_str(v, "%H:%M").ok()).flatten().ok_or_else(|| s::TIME_INVALID.to_string())
}

/// An IANA zone name such as Europe/Moscow or Asia/Kamchatka.
pub fn zone(v: &str) -> Result<Tz, String> {
    v.trim().parse::<Tz>().map_err(|_| s::TIME_ZONE_INVALID.to_string())
}

/// The instant a local date and time names in `tz`: the earlier one when
/// the clock goes back, the first valid time after a gap when it jumps
/// forward. Returns the instant and the wall-clock time it shows.
pub fn local_instant(day: NaiveDate, at: NaiveTime, tz: Tz) -> (DateTime<Utc>, NaiveDateTime) {
    let t = recurrence::resolve_local(tz, day.and_time(at));
    (t.with_timezone(&Utc), t.naive_local())
}

/// The instant a local calendar day begins in `tz`.
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_instant(day, NaiveTime::MIN, tz).0
}

/// Today's date in `tz`.
pub fn local_today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The reminder's own date and time as the bot writes them: "DD.MM.YYYY", "HH:MM".
pub fn bot_date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

pub fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

pub fn iso_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_seed() {
        // S0-75…S0-78, S0-71.
        assert_eq!(Status::Planned.colour(), "blue");
        assert_eq!(Status::Sent.colour(), "blue");
        assert_eq!(Status::NoReaction.colour(), "yellow");
        assert_eq!(Status::Done.colour(), "green");
        assert_eq!(Status::Skipped.colour(), "red");
        assert_eq!(Status::Paused.colour(), "black");
        assert_eq!(Status::Missed.colour(), "grey");
        for st in Status::ALL {
            assert_eq!(Status::parse(st.as_str()), Some(st));
        }
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn s0_64_curator_notes_never_face_the_citizen() {
        assert!(!Kind::CuratorNote.citizen_facing());
        assert!(Kind::Support.citizen_facing() && Kind::Info.citizen_facing() && Kind::Meeting.citizen_facing());
    }

    #[test]
    fn curators_manage_only_their_own_citizens() {
        let me = Uuid::now_v7();
        let other = Uuid::now_v7();
        let curator = Access::new(me, &["curator".into()]);
        assert!(curator.may_manage(Some(me)));
        assert!(!curator.may_manage(Some(other)));
        assert!(!curator.may_manage(None));
        let admin = Access::new(other, &["admin".into()]);
        assert!(admin.may_manage(None) && admin.may_manage(Some(me)));
        let bot = Access::new(other, &["bot".into()]);
        assert!(!bot.is_staff() && !bot.may_manage(Some(other)));
    }

    #[test]
    fn times_and_dates_parse_strictly() {
        assert_eq!(time("09:05").unwrap(), NaiveTime::from_hms_opt(9, 5, 0).unwrap());
        assert!(time("9:05").is_err());
        assert!(time("24:00").is_err());
        assert!(time("09:05:00").is_err());
        assert!(date("2031-02-29").is_err());
        assert!(zone("Moscow").is_err());
        assert_eq!(zone("Asia/Kamchatka").unwrap(), chrono_tz::Asia::Kamchatka);
        assert!(description("  ").is_err());
        assert_eq!(description("  Принять лекарство ").unwrap(), "Принять лекарство");
    }

    #[test]
    fn local_instants_survive_clock_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2031-03-30 02:30 does not exist in Berlin: the first valid time is 03:00.
        let d = NaiveDate::from_ymd_opt(2031, 3, 30).unwrap();
        let (at, local) = local_instant(d, NaiveTime::from_hms_opt(2, 30, 0).unwrap(), berlin);
        assert_eq!(local.time(), NaiveTime::from_hms_opt(3, 0, 0).unwrap());
        assert_eq!(at, "2031-03-30T01:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let msk: Tz = "Europe/Moscow".parse().unwrap();
        let (at, _) = local_instant(d, NaiveTime::from_hms_opt(9, 0, 0).unwrap(), msk);
        assert_eq!(at, "2031-03-30T06:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(bot_date(d), "30.03.2031");
    }

    #[test]
    fn slot_capacity_is_rate_times_window() {
        let t = TenantSettings::defaults(chrono_tz::Europe::Moscow);
        assert_eq!(t.slot_capacity(), 30 * 30 * 60);
        let off = TenantSettings { send_ahead_minutes: 0, ..t };
        assert_eq!(off.slot_capacity(), 30 * 60);
    }
}
