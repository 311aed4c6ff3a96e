//! Notifications' types and rules: who may do what, parsed settings values,
//! the bot's menu and what a citizen's message means. No I/O here.
pub mod terms;
pub mod values;

pub use terms::Terms;
pub use values::*;

/// What a caller may do in notifications. Checked here, in the service that
/// owns the data; the gateway only hides what is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// SMTP, admin copy address, bot token; CheckSmtp.
    ManageChannels,
    /// «Написать сообщение» (S0-89).
    MessageCitizens,
    /// The delivery log.
    ReadDeliveries,
}

pub fn role_allows(role: &str, p: Permission) -> bool {
    use Permission::*;
    match role {
        "admin" => true,
        "curator" => p == MessageCitizens,
        _ => false,
    }
}

pub fn roles_allow(roles: &[String], p: Permission) -> bool {
    roles.iter().any(|r| role_allows(r, p))
}

const MEETING_DATE_PREFIX: &str = "Дата встречи с ";

/// The buttons of the citizen's menu keyboard, in the seed's words (§3.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuButton {
    Days3,
    Days7,
    Days14,
    Days30,
    SupportMeasures,
    InfoForYou,
    MeetingDate,
    UploadFiles,
    RequestContact,
}

impl MenuButton {
    pub const ALL: [MenuButton; 9] = [
        MenuButton::Days3,
        MenuButton::Days7,
        MenuButton::Days14,
        MenuButton::Days30,
        MenuButton::SupportMeasures,
        MenuButton::InfoForYou,
        MenuButton::MeetingDate,
        MenuButton::UploadFiles,
        MenuButton::RequestContact,
    ];

    /// The rows of the reply keyboard.
    pub const LAYOUT: [&'static [MenuButton]; 4] = [
        &[MenuButton::Days3, MenuButton::Days7, MenuButton::Days14, MenuButton::Days30],
        &[MenuButton::SupportMeasures, MenuButton::InfoForYou],
        &[MenuButton::MeetingDate],
        &[MenuButton::UploadFiles, MenuButton::RequestContact],
    ];

    /// The button's text; «Дата встречи с …» names the curator in the
    /// tenant's words (S0-2).
    pub fn label(self, terms: &Terms) -> String {
        let fixed = match self {
            MenuButton::Days3 => "3 дня",
            MenuButton::Days7 => "7 дней",
            MenuButton::Days14 => "14 дней",
            MenuButton::Days30 => "30 дней",
            MenuButton::SupportMeasures => "Меры поддержки",
            MenuButton::InfoForYou => "Информация для Вас",
            MenuButton::MeetingDate => return format!("{MEETING_DATE_PREFIX}{}", terms.curator_ins()),
            MenuButton::UploadFiles => "Загрузка файлов",
            MenuButton::RequestContact => "Запросить связь",
        };
        fixed.to_string()
    }

    /// The button a text is. A keyboard sent before the admin renamed the
    /// curator still shows the old words, so «Дата встречи с …» is
    /// recognised whoever it names.
    pub fn parse(text: &str, terms: &Terms) -> Option<MenuButton> {
        let t = text.trim();
        Self::ALL.into_iter().find(|b| b.label(terms) == t).or_else(|| {
            t.strip_prefix(MEETING_DATE_PREFIX).filter(|rest| !rest.trim().is_empty()).map(|_| MenuButton::MeetingDate)
        })
    }

    /// The reminder view a button asks for, if it is one.
    pub fn reminder_query(self) -> Option<ReminderQuery> {
        Some(match self {
            MenuButton::Days3 => ReminderQuery::NextDays(3),
            MenuButton::Days7 => ReminderQuery::NextDays(7),
            MenuButton::Days14 => ReminderQuery::NextDays(14),
            MenuButton::Days30 => ReminderQuery::NextDays(30),
            MenuButton::SupportMeasures => ReminderQuery::Kind(ReminderKind::SupportMeasures),
            MenuButton::InfoForYou => ReminderQuery::Kind(ReminderKind::InfoForYou),
            MenuButton::MeetingDate => ReminderQuery::Kind(ReminderKind::MeetingDate),
            MenuButton::UploadFiles | MenuButton::RequestContact => return None,
        })
    }
}

/// Reminder types a citizen sees (scheduler owns the reminders themselves;
/// «Напоминание для соц. куратора» never reaches the citizen, S0-64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    SupportMeasures,
    InfoForYou,
    MeetingDate,
}

impl ReminderKind {
    /// `ReminderDue.kind`: `support | info | meeting`.
    pub fn from_event(v: &str) -> Option<Self> {
        match v.trim() {
            "support" => Some(Self::SupportMeasures),
            "info" => Some(Self::InfoForYou),
            "meeting" => Some(Self::MeetingDate),
            _ => None,
        }
    }

    /// scheduler's `ReminderKind`; `None` for the curator's own notes and unknown values.
    pub fn from_pb(v: i32) -> Option<Self> {
        use opeka_proto::scheduler::ReminderKind as K;
        match K::try_from(v).ok()? {
            K::Support => Some(Self::SupportMeasures),
            K::Info => Some(Self::InfoForYou),
            K::Meeting => Some(Self::MeetingDate),
            K::CuratorNote | K::Unspecified => None,
        }
    }

    pub fn to_pb(self) -> opeka_proto::scheduler::ReminderKind {
        use opeka_proto::scheduler::ReminderKind as K;
        match self {
            Self::SupportMeasures => K::Support,
            Self::InfoForYou => K::Info,
            Self::MeetingDate => K::Meeting,
        }
    }
}

/// The citizen's answer to a reminder (S0-57; for a yes/no question
/// «Выполнено» is yes and «Пропущено» no, S0-63).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderAnswer {
    Done,
    Skipped,
}

impl ReminderAnswer {
    pub fn to_pb(self) -> opeka_proto::scheduler::Answer {
        match self {
            Self::Done => opeka_proto::scheduler::Answer::Done,
            Self::Skipped => opeka_proto::scheduler::Answer::Skipped,
        }
    }

    pub fn from_pb(v: i32) -> Option<Self> {
        match opeka_proto::scheduler::Answer::try_from(v).ok()? {
            opeka_proto::scheduler::Answer::Done => Some(Self::Done),
            opeka_proto::scheduler::Answer::Skipped => Some(Self::Skipped),
            opeka_proto::scheduler::Answer::Unspecified => None,
        }
    }

    fn code(self) -> char {
        match self {
            Self::Done => 'd',
            Self::Skipped => 's',
        }
    }
}

/// Callback data of a reminder's button: `r:d:<occurrence id>` («Выполнено»)
/// or `r:s:<occurrence id>` («Пропущено»), 40 bytes (Telegram allows 64).
pub fn reminder_callback(occurrence: uuid::Uuid, answer: ReminderAnswer) -> String {
    format!("r:{}:{}", answer.code(), occurrence.hyphenated())
}

pub fn parse_reminder_callback(data: &str) -> Option<(uuid::Uuid, ReminderAnswer)> {
    let rest = data.strip_prefix("r:")?;
    let (code, id) = rest.split_once(':')?;
    let answer = match code {
        "d" => ReminderAnswer::Done,
        "s" => ReminderAnswer::Skipped,
        _ => return None,
    };
    Some((uuid::Uuid::parse_str(id).ok()?, answer))
}

/// A reminder's local date as the citizen reads it: scheduler's events carry
/// `DD.MM.YYYY`, its `Occurrence` `YYYY-MM-DD`; both become `DD.MM.YYYY`.
pub fn display_date(v: &str) -> String {
    let v = v.trim();
    match chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => d.format("%d.%m.%Y").to_string(),
        Err(_) => v.to_string(),
    }
}

/// Telegram refuses a message over 4096 characters.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// Packs `heading` and `entries` (separated by blank lines) into as few
/// messages of at most `limit` characters as it can, never splitting an entry
/// that fits in one message; an entry longer than that is cut into pieces.
/// The heading opens the first message only.
pub fn pack_messages(heading: &str, entries: &[String], limit: usize) -> Vec<String> {
    const SEP: &str = "\n\n";
    let limit = limit.max(16);
    let len = |s: &str| s.chars().count();
    let mut out: Vec<String> = Vec::new();
    let mut cur = heading.to_string();
    let pieces = entries.iter().flat_map(|e| {
        let chars: Vec<char> = e.chars().collect();
        if chars.len() <= limit {
            vec![e.clone()]
        } else {
            chars.chunks(limit).map(|c| c.iter().collect::<String>()).collect()
        }
    });
    for piece in pieces {
        let joined = if cur.is_empty() { len(&piece) } else { len(&cur) + len(SEP) + len(&piece) };
        if joined <= limit {
            if !cur.is_empty() {
                cur.push_str(SEP);
            }
            cur.push_str(&piece);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur = piece;
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderQuery {
    NextDays(u32),
    Kind(ReminderKind),
}

/// What a message from a chat asks the bot to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `/start`, optionally with a code from a deep link (`/start CODE`).
    Start(Option<String>),
    Menu(MenuButton),
    /// Any other text: an activation code while the chat is not linked.
    Text(String),
    /// A document or photo.
    File,
    Other,
}

pub fn intent(text: Option<&str>, has_file: bool, terms: &Terms) -> Intent {
    if has_file {
        return Intent::File;
    }
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Intent::Other };
    if let Some(rest) = text.strip_prefix("/start") {
        // `/start@BotName CODE` in groups; plain `/start CODE` from deep links.
        let rest = rest.trim_start_matches(|c: char| c != ' ' && c != '\t').trim();
        if rest.is_empty() || !text.starts_with("/start") {
            return Intent::Start(None);
        }
        return Intent::Start(Some(rest.to_string()));
    }
    match MenuButton::parse(text, terms) {
        Some(b) => Intent::Menu(b),
        None => Intent::Text(text.to_string()),
    }
}

/// Callback data of a file-type button (≤ 64 bytes, Telegram's limit):
/// `t:<file id>:<type id>`, both ids as unpadded base64url of their 16 bytes.
pub fn file_type_callback(file_id: uuid::Uuid, type_id: uuid::Uuid) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("t:{}:{}", e.encode(file_id.as_bytes()), e.encode(type_id.as_bytes()))
}

pub fn parse_file_type_callback(data: &str) -> Option<(uuid::Uuid, uuid::Uuid)> {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = data.strip_prefix("t:")?.split(':');
    let mut id = || -> Option<uuid::Uuid> { uuid::Uuid::from_slice(&e.decode(parts.next()?).ok()?).ok() };
    let (file, ty) = (id()?, id()?);
    Some((file, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_channels_curators_message_citizens() {
        assert!(role_allows("admin", Permission::ManageChannels));
        assert!(!role_allows("curator", Permission::ManageChannels));
        assert!(role_allows("curator", Permission::MessageCitizens));
        assert!(!role_allows("supervisor", Permission::MessageCitizens));
        assert!(!role_allows("bot", Permission::ReadDeliveries));
    }

    #[test]
    fn menu_labels_round_trip_and_layout_holds_every_button() {
        let renamed = Terms::new("пациент", "координатор");
        for terms in [Terms::default(), renamed.clone()] {
            for b in MenuButton::ALL {
                assert_eq!(MenuButton::parse(&b.label(&terms), &terms), Some(b));
            }
        }
        assert_eq!(MenuButton::MeetingDate.label(&Terms::default()), "Дата встречи с соц. куратором");
        assert_eq!(MenuButton::MeetingDate.label(&renamed), "Дата встречи с координатором");
        // A keyboard sent before the rename still works.
        assert_eq!(MenuButton::parse("Дата встречи с соц. куратором", &renamed), Some(MenuButton::MeetingDate));
        assert_eq!(MenuButton::parse("Дата встречи с ", &renamed), None);
        let n: usize = MenuButton::LAYOUT.iter().map(|r| r.len()).sum();
        assert_eq!(n, MenuButton::ALL.len());
    }

    #[test]
    fn intents() {
        let t = &Terms::default();
        assert_eq!(intent(Some("/start"), false, t), Intent::Start(None));
        assert_eq!(intent(Some("/start ABCD1234"), false, t), Intent::Start(Some("ABCD1234".into())));
        assert_eq!(intent(Some("/start@OpekaBot"), false, t), Intent::Start(None));
        assert_eq!(intent(Some(" Запросить связь "), false, t), Intent::Menu(MenuButton::RequestContact));
        assert_eq!(intent(Some("abcd1234"), false, t), Intent::Text("abcd1234".into()));
        assert_eq!(intent(None, true, t), Intent::File);
        assert_eq!(intent(None, false, t), Intent::Other);
    }

    #[test]
    fn reminder_callbacks_fit_telegrams_limit_and_round_trip() {
        // S0-57: the two buttons name the occurrence and the answer.
        let occ = uuid::Uuid::now_v7();
        for a in [ReminderAnswer::Done, ReminderAnswer::Skipped] {
            let data = reminder_callback(occ, a);
            assert!(data.len() <= 64, "{} bytes", data.len());
            assert_eq!(parse_reminder_callback(&data), Some((occ, a)));
        }
        assert_eq!(reminder_callback(occ, ReminderAnswer::Done), format!("r:d:{occ}"));
        assert_eq!(parse_reminder_callback("r:x:00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(parse_reminder_callback("r:d:nope"), None);
        assert_eq!(parse_reminder_callback(&file_type_callback(occ, occ)), None);
        assert_eq!(parse_file_type_callback(&reminder_callback(occ, ReminderAnswer::Done)), None);
    }

    #[test]
    fn reminder_kinds_from_events_and_scheduler() {
        use opeka_proto::scheduler::ReminderKind as K;
        assert_eq!(ReminderKind::from_event("meeting"), Some(ReminderKind::MeetingDate));
        assert_eq!(ReminderKind::from_event("curator"), None);
        for k in [ReminderKind::SupportMeasures, ReminderKind::InfoForYou, ReminderKind::MeetingDate] {
            assert_eq!(ReminderKind::from_pb(k.to_pb() as i32), Some(k));
        }
        // S0-64: a curator's note is never a citizen's reminder.
        assert_eq!(ReminderKind::from_pb(K::CuratorNote as i32), None);
    }

    #[test]
    fn dates_read_day_first() {
        assert_eq!(display_date("2026-11-25"), "25.11.2026");
        assert_eq!(display_date("25.11.2026"), "25.11.2026");
        assert_eq!(display_date(" что-то "), "что-то");
    }

    #[test]
    fn long_lists_are_split_under_the_limit_without_cutting_entries() {
        let entries: Vec<String> = (0..50).map(|i| format!("{i:02}. {}", "ж".repeat(190))).collect();
        let msgs = pack_messages("Заголовок:", &entries, TELEGRAM_TEXT_LIMIT);
        assert!(msgs.len() >= 3, "{} messages", msgs.len());
        assert!(msgs.iter().all(|m| m.chars().count() <= TELEGRAM_TEXT_LIMIT));
        assert!(msgs[0].starts_with("Заголовок:\n\n00. "));
        // Every entry whole, once, in order.
        let back: Vec<&str> = msgs.iter().flat_map(|m| m.split("\n\n")).skip(1).collect();
        assert_eq!(back, entries.iter().map(String::as_str).collect::<Vec<_>>());
        // One short list is one message; one giant entry is cut.
        assert_eq!(pack_messages("Заголовок:", &entries[..2], 4096).len(), 1);
        let giant = pack_messages("H", &["я".repeat(9000)], 4096);
        assert_eq!(giant.iter().map(|m| m.chars().count()).collect::<Vec<_>>(), vec![1, 4096, 4096, 808]);
    }

    #[test]
    fn callback_data_fits_telegrams_limit_and_round_trips() {
        let (f, t) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let data = file_type_callback(f, t);
        assert!(data.len() <= 64, "{} bytes", data.len());
        assert_eq!(parse_file_type_callback(&data), Some((f, t)));
        assert_eq!(parse_file_type_callback("t:zz:yy"), None);
        assert_eq!(parse_file_type_callback("x"), None);
    }
}
