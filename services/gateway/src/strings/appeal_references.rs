//! Words of the admin's «Справочники обращений» page (issue 5: geography and topics trees
//! loaded per tenant from CSV), Russian default and English mirror; part of `crate::strings`.
//! The services' own refusals (unknown parent, wrong level…) arrive in Russian from cases.
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct AppealReferencesStrings {
    /// The menu item and the page's title.
    pub menu: &'static str,
    pub intro: &'static str,

    // The two trees, by their levels top down.
    pub geography_title: &'static str,
    pub topics_title: &'static str,
    pub federal_district: &'static str,
    pub region: &'static str,
    pub municipality: &'static str,
    pub category_type: &'static str,
    pub category: &'static str,
    pub subcategory: &'static str,
    pub tree_label: &'static str,
    pub code_label: &'static str,
    pub nodes_count: &'static str,
    pub empty: &'static str,
    pub download: &'static str,

    // Loading a CSV file or pasted lines.
    pub upload_title: &'static str,
    pub file_label: &'static str,
    pub text_label: &'static str,
    pub format_hint: &'static str,
    pub levels_hint: &'static str,
    pub upload_button: &'static str,
    pub loaded: &'static str,
    pub created: &'static str,
    pub updated: &'static str,

    // What stops a load; nothing is stored then.
    pub nothing_stored: &'static str,
    pub line: &'static str,
    pub more_errors: &'static str,
    pub nothing_to_load: &'static str,
    pub not_utf8: &'static str,
    pub columns_expected: &'static str,
    pub quote_unclosed: &'static str,
    pub too_many_lines: &'static str,
}

pub static RU: AppealReferencesStrings = AppealReferencesStrings {
    menu: "Справочники обращений",
    intro: "Из этих справочников выбираются регион и тематика обращения. Загрузка добавляет новые записи и \
            обновляет записи с теми же кодами; записи, которых нет в файле, остаются.",
    geography_title: "География",
    topics_title: "Тематика обращения",
    federal_district: "Федеральный округ",
    region: "Регион",
    municipality: "Муниципальное образование",
    category_type: "Тип категории",
    category: "Категория",
    subcategory: "Подкатегория",
    tree_label: "Справочник",
    code_label: "код",
    nodes_count: "Записей",
    empty: "Справочник пока пуст: загрузите файл CSV.",
    download: "Скачать CSV",
    upload_title: "Загрузить из CSV",
    file_label: "Файл CSV",
    text_label: "или вставьте строки CSV",
    format_hint: "Столбцы: level;code;name;parent_code. Разделитель «;» или «,», кодировка UTF-8, строка \
                  заголовка необязательна. Родитель указывается кодом: он должен стоять выше в файле или уже \
                  быть в справочнике.",
    levels_hint: "Уровни (level), сверху вниз:",
    upload_button: "Загрузить",
    loaded: "Справочник загружен.",
    created: "Добавлено записей",
    updated: "обновлено",
    nothing_stored: "Ничего не сохранено: исправьте строки и загрузите снова.",
    line: "Строка",
    more_errors: "Ошибок ещё:",
    nothing_to_load: "Выберите файл или вставьте строки CSV.",
    not_utf8: "Файл не в кодировке UTF-8. Сохраните его как «CSV UTF-8» и загрузите снова.",
    columns_expected: "нужно 3 или 4 столбца: level;code;name;parent_code",
    quote_unclosed: "не закрыта кавычка",
    too_many_lines: "Слишком много строк за один раз (не больше 20 000). Разделите файл: родители из \
                     загруженной части уже будут в справочнике.",
};

pub static EN: AppealReferencesStrings = AppealReferencesStrings {
    menu: "Appeal reference data",
    intro: "Appeals take their region and topic from these trees. Loading adds new entries and updates the \
            entries with the same codes; entries missing from the file stay.",
    geography_title: "Geography",
    topics_title: "Appeal topics",
    federal_district: "Federal district",
    region: "Region",
    municipality: "Municipality",
    category_type: "Category type",
    category: "Category",
    subcategory: "Subcategory",
    tree_label: "Tree",
    code_label: "code",
    nodes_count: "Entries",
    empty: "The tree is empty: load a CSV file.",
    download: "Download CSV",
    upload_title: "Load from CSV",
    file_label: "CSV file",
    text_label: "or paste CSV lines",
    format_hint: "Columns: level;code;name;parent_code. Separated by «;» or «,», UTF-8, the header row is \
                  optional. A parent is named by its code: it must come earlier in the file or be in the tree \
                  already.",
    levels_hint: "Levels (level), top down:",
    upload_button: "Load",
    loaded: "The tree is loaded.",
    created: "Entries added",
    updated: "updated",
    nothing_stored: "Nothing was stored: correct the lines and load again.",
    line: "Line",
    more_errors: "More errors:",
    nothing_to_load: "Choose a file or paste CSV lines.",
    not_utf8: "The file is not UTF-8. Save it as «CSV UTF-8» and load it again.",
    columns_expected: "3 or 4 columns expected: level;code;name;parent_code",
    quote_unclosed: "a quote is not closed",
    too_many_lines: "Too many lines at once (20,000 at most). Split the file: the parents of the part loaded \
                     first will be in the tree already.",
};
