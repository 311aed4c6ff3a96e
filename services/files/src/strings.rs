//! Every user-facing sentence the files service produces, in one place (Russian).
pub const ID_INVALID: &str = "Неверный идентификатор.";
pub const PAGE_TOKEN_INVALID: &str = "Неверный маркер страницы.";
pub const PERMISSION_DENIED: &str = "Недостаточно прав для этого действия.";

pub const FILE_TYPE_NAME_REQUIRED: &str = "Укажите наименование типа файла.";
pub const FILE_TYPE_NAME_TOO_LONG: &str = "Наименование типа файла — не длиннее 100 символов.";
pub const FILE_TYPE_TAKEN: &str = "Тип файла с таким наименованием уже есть.";
pub const FILE_TYPE_NOT_FOUND: &str = "Тип файла не найден.";
pub const FILE_TYPE_UNKNOWN: &str = "Такого типа файла нет. Выберите тип из списка.";

pub const FILE_NOT_FOUND: &str = "Файл не найден.";
pub const CITIZEN_REQUIRED: &str = "Укажите, чей это файл.";
/// Both a citizen and an appeal named as the owner of one file.
pub const OWNER_BOTH: &str = "Файл принадлежит либо гражданину, либо обращению: укажите что-то одно.";
/// An appeal that does not exist or that the caller does not see (one answer for both).
pub const APPEAL_UNKNOWN: &str = "Обращение не найдено.";
/// A citizen outside the caller's scope is not revealed to exist.
pub const CITIZEN_UNKNOWN: &str = "Пользователь не найден.";
pub const CASES_UNAVAILABLE: &str = "Сервис обращений недоступен. Попробуйте позже.";
pub const ORIGINAL_NAME_TOO_LONG: &str = "Имя файла — не длиннее 255 символов.";
pub const HEADER_MISSING: &str = "Первое сообщение загрузки должно содержать сведения о файле.";
pub const HEADER_REPEATED: &str = "Сведения о файле передаются только в первом сообщении загрузки.";
pub const FILE_EMPTY: &str = "Файл пустой. Выберите другой файл.";
pub const DECLARED_SIZE_INVALID: &str = "Размер файла указан неверно.";
pub const SIZE_MISMATCH: &str = "Файл получен не полностью. Отправьте его ещё раз.";
/// The upload's stream broke off before the end (the client went away).
pub const UPLOAD_INTERRUPTED: &str = "Загрузка прервана. Отправьте файл ещё раз.";
pub const STORE_UNAVAILABLE: &str = "Хранилище файлов недоступно. Попробуйте позже.";

/// Over the size limit, with the limit in words a person understands.
pub fn too_large(max_bytes: u64) -> String {
    format!("Файл слишком большой: допускается не более {}.", human_size(max_bytes))
}

/// A content type the settings do not accept, and what would be accepted.
pub fn type_not_allowed(content_type: &str, allowed: &[String]) -> String {
    let what = match format_label(content_type) {
        Some(label) => format!("в формате {label}"),
        None if content_type == "application/octet-stream" => "неизвестного формата".to_string(),
        None => format!("в формате {content_type}"),
    };
    let mut labels: Vec<&str> = Vec::new();
    for ct in allowed {
        let label = format_label(ct).unwrap_or(ct.as_str());
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    format!("Файлы {what} не принимаются. Допустимые форматы: {}.", labels.join(", "))
}

/// The name people know a format by.
pub fn format_label(content_type: &str) -> Option<&'static str> {
    Some(match content_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "image/heic" | "image/heif" => "HEIC",
        "application/msword" | "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "Word",
        "application/vnd.ms-excel" | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "Excel",
        "application/vnd.oasis.opendocument.text" => "OpenDocument",
        "text/plain" => "текст",
        "application/zip" => "ZIP",
        "text/html" => "HTML",
        "application/vnd.microsoft.portable-executable" => "программа Windows",
        _ => return None,
    })
}

pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} МБ", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} МБ", bytes as f64 / MIB as f64).replace('.', ",")
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} КБ", bytes / KIB)
    } else {
        format!("{bytes} байт")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_naturally() {
        assert_eq!(super::human_size(20 * 1024 * 1024), "20 МБ");
        assert_eq!(super::human_size(1536 * 1024), "1,5 МБ");
        assert_eq!(super::human_size(64 * 1024), "64 КБ");
        assert_eq!(super::human_size(1000), "1000 байт");
    }
}
