//! What a file is, told from its first bytes — never from the client's
//! claim. Containers the bytes prove but cannot tell apart from a prefix
//! (an OLE2 compound file, an Office Open XML zip) take the member the
//! file's name asks for, and only from that family.

/// How many leading bytes are enough to tell every accepted format apart.
pub const SNIFF_BYTES: usize = 64 * 1024;

pub const OCTET_STREAM: &str = "application/octet-stream";
const MSWORD: &str = "application/msword";
const MSEXCEL: &str = "application/vnd.ms-excel";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: &'static str,
    /// The usual extension ("" when unknown), for a file sent without a name.
    pub extension: &'static str,
}

/// Sniffs `prefix` (the first `SNIFF_BYTES` of the content, or all of it).
/// `name_extension` is the lower-case extension of the original name.
pub fn sniff(prefix: &[u8], name_extension: Option<&str>) -> Sniffed {
    let found = |content_type, extension| Sniffed { content_type, extension };
    if let Some(t) = infer::get(prefix) {
        return match (t.mime_type(), name_extension) {
            ("application/zip", Some("docx")) if is_ooxml(prefix) => found(DOCX, "docx"),
            ("application/zip", Some("xlsx")) if is_ooxml(prefix) => found(XLSX, "xlsx"),
            ("application/x-ole-storage", Some("doc")) => found(MSWORD, "doc"),
            ("application/x-ole-storage", Some("xls")) => found(MSEXCEL, "xls"),
            (mime, _) => found(mime, t.extension()),
        };
    }
    if looks_like_text(prefix) {
        return found("text/plain", "txt");
    }
    found(OCTET_STREAM, "")
}

/// A zip whose first entry is one an Office Open XML package starts with.
fn is_ooxml(buf: &[u8]) -> bool {
    [&b"[Content_Types].xml"[..], b"_rels/.rels", b"docProps"].iter().any(|n| buf.get(30..30 + n.len()) == Some(n))
}

/// Plain text in any ASCII-compatible encoding (UTF-8 or Windows-1251 alike):
/// no NUL and no control bytes but tab, line breaks and form feed.
fn looks_like_text(buf: &[u8]) -> bool {
    !buf.is_empty() && buf.iter().all(|b| *b >= 0x20 || matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
}

/// Normalises a configured list of content types (lower case, trimmed).
pub fn normalise_types(types: &[String]) -> Vec<String> {
    types.iter().map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect()
}

#[cfg(test)]
pub mod samples {
    //! Minimal but genuine headers of each format, for tests.
    pub fn pdf() -> Vec<u8> {
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
    }
    pub fn png() -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
        v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
        v
    }
    pub fn jpeg() -> Vec<u8> {
        vec![0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]
    }
    pub fn heic() -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        v.extend_from_slice(&[0; 16]);
        v
    }
    pub fn exe() -> Vec<u8> {
        let mut v = b"MZ".to_vec();
        v.extend_from_slice(&[0x90; 62]);
        v[0x3c] = 0x40;
        v.extend_from_slice(b"PE\0\0");
        v.extend_from_slice(&[0; 64]);
        v
    }
    /// A zip whose first entry is `[Content_Types].xml` (how Word writes .docx).
    pub fn ooxml_zip() -> Vec<u8> {
        let name = b"[Content_Types].xml";
        let mut v = vec![b'P', b'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(name);
        v.extend_from_slice(&[0; 32]);
        v
    }
    /// The signature of an OLE2 compound file (.doc, .xls, .msi …).
    pub fn ole2() -> Vec<u8> {
        let mut v = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
        v.extend_from_slice(&[0; 504]);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    fn ct(bytes: &[u8], ext: Option<&str>) -> &'static str {
        sniff(bytes, ext).content_type
    }

    #[test]
    fn common_documents_and_images_are_recognised_whatever_the_name_says() {
        assert_eq!(ct(&pdf(), Some("jpg")), "application/pdf");
        assert_eq!(ct(&png(), Some("pdf")), "image/png");
        assert_eq!(ct(&jpeg(), None), "image/jpeg");
        assert_eq!(ct(&heic(), Some("heic")), "image/heif");
        assert_eq!(sniff(&png(), None).extension, "png");
    }

    #[test]
    fn text_in_utf8_or_cp1251_is_text_binary_is_not() {
        assert_eq!(ct("Справка: всё в порядке.\r\n".as_bytes(), None), "text/plain");
        assert_eq!(ct(&[0xd1, 0xef, 0xf0, 0xe0, 0xe2, 0xea, 0xe0, b'\n'], None), "text/plain");
        assert_eq!(ct(b"abc\0def", Some("txt")), OCTET_STREAM);
        assert_eq!(ct(b"", Some("txt")), OCTET_STREAM);
        assert_eq!(ct(b"<html><body>hi</body></html>", Some("txt")), "text/html");
    }

    #[test]
    fn an_executable_named_like_a_document_stays_an_executable() {
        assert_eq!(ct(&exe(), Some("pdf")), "application/vnd.microsoft.portable-executable");
    }

    #[test]
    fn office_containers_take_the_member_the_name_asks_for_only_within_their_family() {
        assert_eq!(ct(&ooxml_zip(), Some("docx")), DOCX);
        assert_eq!(ct(&ooxml_zip(), Some("xlsx")), XLSX);
        assert_eq!(ct(&ooxml_zip(), Some("exe")), "application/zip");
        assert_eq!(ct(&ole2(), Some("doc")), MSWORD);
        assert_eq!(ct(&ole2(), Some("xls")), MSEXCEL);
        assert_eq!(ct(&ole2(), Some("pdf")), "application/x-ole-storage");
        // A .docx name on something that is not a zip changes nothing.
        assert_eq!(ct(&pdf(), Some("docx")), "application/pdf");
    }
}
