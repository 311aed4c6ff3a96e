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

/// Reminder types a citizen sees (scheduler owns the reminders themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    SupportMeasures,
    InfoForYou,
    MeetingDate,
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
    fn callback_data_fits_telegrams_limit_and_round_trips() {
        let (f, t) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let data = file_type_callback(f, t);
        assert!(data.len() <= 64, "{} bytes", data.len());
        assert_eq!(parse_file_type_callback(&data), Some((f, t)));
        assert_eq!(parse_file_type_callback("t:zz:yy"), None);
        assert_eq!(parse_file_type_callback("x"), None);
    }
}
