//! Attachment content-type sniffing against an allowlist, and safe download filenames.
//!
//! The bytes decide the type; the client's declared `Content-Type` and the filename
//! extension are never trusted for it. The filename is used only to tell Markdown from
//! plain text (`.md`/`.markdown`) and to refuse text files whose extension makes an
//! operating system or browser run or render them (`.html`, `.svg`, `.js`, `.bat`, …).
//!
//! How each allowed type is recognised (see [`ALLOWED_TYPES`]):
//! - PNG, JPEG, GIF, WebP, PDF: their full magic numbers at offset 0.
//! - docx/xlsx/pptx: a ZIP whose entries include `[Content_Types].xml` and exactly one of
//!   the `word/`, `xl/`, `ppt/` part folders, and no `vbaProject.bin` (macros). Names come
//!   from the central directory when the bytes include the end of the file, otherwise from
//!   walking local file headers.
//! - odt/ods/odp: a ZIP whose first entry is the stored `mimetype` file holding the
//!   matching OpenDocument media type (the ODF packaging rule).
//! - doc/xls/ppt: an OLE2 compound file whose directory holds a `WordDocument`,
//!   `Workbook`/`Book` or `PowerPoint Document` stream (or, failing that, whose root
//!   CLSID is Word's, Excel's or PowerPoint's), with no `Macros`/`_VBA_PROJECT_CUR`
//!   storage. The directory can sit anywhere in the file, so pass the whole file for
//!   these; if it isn't within the bytes given, the file is refused as unverifiable.
//!   Installer (MSI) and other compound files are refused.
//! - Plain text / Markdown: valid UTF-8 with no NUL bytes, not starting with markup (`<`
//!   followed by a letter, `!`, `?` or `/` — HTML, XML, SVG), a `#!` script line, RTF
//!   (`{\rtf`) or PostScript (`%!`).
//!
//! Everything else is refused, with infer's guess of what it is in the message where it
//! has one (executables, archives, audio, video, fonts, other images).
//!
//! Give [`sniff`] at least the first [`SNIFF_MIN_BYTES`] bytes; give it the whole upload
//! when you have it (uploads are size-capped), which also lets text be checked end to end
//! and legacy Office files be verified.

use serde::Serialize;

use super::tags::is_invisible_format;

/// Bytes [`sniff`] should be given at least (or the whole file if shorter).
pub const SNIFF_MIN_BYTES: usize = 8 * 1024;
/// Longest name [`safe_filename`] returns, in characters.
pub const FILENAME_MAX_CHARS: usize = 120;
/// Longest name [`safe_filename`] returns, in UTF-8 bytes (common filesystem limit).
pub const FILENAME_MAX_BYTES: usize = 255;
/// Name used when nothing usable is left of the original.
pub const FALLBACK_FILENAME: &str = "attachment";

/// One allowed attachment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AllowedType {
    /// Media type to store and serve it with.
    pub mime: &'static str,
    /// Canonical extension, without the dot.
    pub extension: &'static str,
    /// Human name for messages.
    pub label: &'static str,
}

const PNG: AllowedType = AllowedType {
    mime: "image/png",
    extension: "png",
    label: "PNG",
};
const JPEG: AllowedType = AllowedType {
    mime: "image/jpeg",
    extension: "jpg",
    label: "JPEG",
};
const GIF: AllowedType = AllowedType {
    mime: "image/gif",
    extension: "gif",
    label: "GIF",
};
const WEBP: AllowedType = AllowedType {
    mime: "image/webp",
    extension: "webp",
    label: "WebP",
};
const PDF: AllowedType = AllowedType {
    mime: "application/pdf",
    extension: "pdf",
    label: "PDF",
};
const TEXT: AllowedType = AllowedType {
    mime: "text/plain",
    extension: "txt",
    label: "plain text (UTF-8)",
};
const MARKDOWN: AllowedType = AllowedType {
    mime: "text/markdown",
    extension: "md",
    label: "Markdown (UTF-8)",
};
const DOCX: AllowedType = AllowedType {
    mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    extension: "docx",
    label: "Word (.docx)",
};
const XLSX: AllowedType = AllowedType {
    mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    extension: "xlsx",
    label: "Excel (.xlsx)",
};
const PPTX: AllowedType = AllowedType {
    mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    extension: "pptx",
    label: "PowerPoint (.pptx)",
};
const ODT: AllowedType = AllowedType {
    mime: "application/vnd.oasis.opendocument.text",
    extension: "odt",
    label: "OpenDocument text (.odt)",
};
const ODS: AllowedType = AllowedType {
    mime: "application/vnd.oasis.opendocument.spreadsheet",
    extension: "ods",
    label: "OpenDocument spreadsheet (.ods)",
};
const ODP: AllowedType = AllowedType {
    mime: "application/vnd.oasis.opendocument.presentation",
    extension: "odp",
    label: "OpenDocument presentation (.odp)",
};
const DOC: AllowedType = AllowedType {
    mime: "application/msword",
    extension: "doc",
    label: "Word 97–2003 (.doc)",
};
const XLS: AllowedType = AllowedType {
    mime: "application/vnd.ms-excel",
    extension: "xls",
    label: "Excel 97–2003 (.xls)",
};
const PPT: AllowedType = AllowedType {
    mime: "application/vnd.ms-powerpoint",
    extension: "ppt",
    label: "PowerPoint 97–2003 (.ppt)",
};

/// Every attachment type accepted, in the order error messages list them.
pub const ALLOWED_TYPES: &[AllowedType] = &[
    PNG, JPEG, GIF, WEBP, PDF, TEXT, MARKDOWN, DOCX, XLSX, PPTX, ODT, ODS, ODP, DOC, XLS, PPT,
];

/// Text-file extensions refused even when the bytes are harmless text, because browsers
/// render them as active content or operating systems run them when opened by name.
pub const REFUSED_TEXT_EXTENSIONS: &[&str] = &[
    "htm", "html", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt", "hta",
    "js", "mjs", "cjs", "jse", "vbs", "vbe", "wsf", "wsh", "ps1", "psm1", "bat", "cmd", "com",
    "exe", "scr", "pif", "msi", "lnk", "reg", "inf", "scf", "url", "desktop", "sh", "bash", "zsh",
    "command", "php", "phtml", "jsp", "asp", "aspx", "cgi",
];

/// The accepted type of an attachment, as decided by its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sniffed {
    /// Media type to store and serve it with (add `; charset=utf-8` for text).
    pub mime: &'static str,
    /// Canonical extension for the type, without the dot.
    pub extension: &'static str,
}

impl From<AllowedType> for Sniffed {
    fn from(t: AllowedType) -> Self {
        Self {
            mime: t.mime,
            extension: t.extension,
        }
    }
}

/// Why an attachment was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{reason}")]
pub struct Rejected {
    /// Stable code: `attachment_empty` or `attachment_type_not_allowed`.
    pub code: &'static str,
    /// A sentence for the user, ending with the allowed types where that helps.
    pub reason: String,
}

impl Rejected {
    fn not_allowed(what: &str) -> Self {
        Self {
            code: "attachment_type_not_allowed",
            reason: format!("{what} Allowed types: {}.", allowed_summary()),
        }
    }
}

/// "PNG, JPEG, …" for messages.
pub fn allowed_summary() -> String {
    ALLOWED_TYPES
        .iter()
        .map(|t| t.label)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decides an upload's type from its bytes (see the module docs); `filename` only tells
/// Markdown from plain text and refuses dangerous text extensions.
pub fn sniff(bytes: &[u8], filename: &str) -> Result<Sniffed, Rejected> {
    if bytes.is_empty() {
        return Err(Rejected {
            code: "attachment_empty",
            reason: "The file is empty.".to_owned(),
        });
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PNG.into());
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(JPEG.into());
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Ok(GIF.into());
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Ok(WEBP.into());
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(PDF.into());
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zip_office(bytes);
    }
    if bytes.starts_with(&CFB_SIGNATURE) {
        return legacy_office(bytes);
    }
    if is_text(bytes) {
        return text(bytes, filename);
    }
    Err(Rejected::not_allowed(&describe_binary(bytes)))
}

/// Names a refused binary format using infer's signatures.
fn describe_binary(bytes: &[u8]) -> String {
    let Some(kind) = infer::get(bytes) else {
        return "This file type isn't recognised (text must be UTF-8).".to_owned();
    };
    let what = format!("{} ({})", kind.extension(), kind.mime_type());
    match kind.matcher_type() {
        infer::MatcherType::App => {
            format!("Programs and executables aren't allowed (this is {what}).")
        }
        infer::MatcherType::Archive => format!("Archives aren't allowed (this is {what})."),
        infer::MatcherType::Image => {
            format!("This image format isn't allowed ({what}); use PNG, JPEG, GIF or WebP.")
        }
        infer::MatcherType::Audio | infer::MatcherType::Video => {
            format!("Audio and video files aren't allowed (this is {what}).")
        }
        _ => format!("This file type isn't allowed ({what})."),
    }
}

/// Valid UTF-8 without NUL bytes; a multi-byte character cut off by the end of a
/// [`SNIFF_MIN_BYTES`]-or-longer prefix doesn't count against it.
fn is_text(bytes: &[u8]) -> bool {
    if bytes.contains(&0) {
        return false;
    }
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() >= SNIFF_MIN_BYTES,
    }
}

fn text(bytes: &[u8], filename: &str) -> Result<Sniffed, Rejected> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = body.trim_ascii_start();
    if start.starts_with(b"#!") {
        return Err(Rejected::not_allowed(
            "Scripts (files starting with \"#!\") aren't allowed.",
        ));
    }
    if start.starts_with(b"{\\rtf") {
        return Err(Rejected::not_allowed(
            "RTF documents aren't allowed; save the document as .docx or PDF.",
        ));
    }
    if start.starts_with(b"%!") {
        return Err(Rejected::not_allowed(
            "PostScript files aren't allowed; save the document as PDF.",
        ));
    }
    if let [b'<', next, ..] = start {
        if next.is_ascii_alphabetic() || matches!(next, b'!' | b'?' | b'/') {
            return Err(Rejected::not_allowed(
                "HTML, XML and SVG files aren't allowed, because they can run scripts when opened in a browser.",
            ));
        }
    }
    let extension = extension_of(filename);
    if let Some(ext) = extension.as_deref() {
        if REFUSED_TEXT_EXTENSIONS.contains(&ext) {
            return Err(Rejected::not_allowed(&format!(
                "Files ending in .{ext} aren't allowed, because they can run when opened."
            )));
        }
    }
    Ok(match extension.as_deref() {
        Some("md" | "markdown") => MARKDOWN.into(),
        _ => TEXT.into(),
    })
}

/// Lower-case extension of the last path component, if it has one.
fn extension_of(filename: &str) -> Option<String> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let (stem, ext) = base.trim_end_matches([' ', '.']).rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    Some(ext.to_lowercase())
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let raw = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([raw[0], raw[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]))
}

/// Caps how many ZIP entries or CFB sectors are looked at, so a crafted file can't make
/// sniffing slow.
const MAX_CONTAINER_ITEMS: usize = 4096;

const ZIP_LOCAL: &[u8] = b"PK\x03\x04";
const ZIP_CENTRAL: &[u8] = b"PK\x01\x02";
const ZIP_END: &[u8] = b"PK\x05\x06";

fn zip_office(bytes: &[u8]) -> Result<Sniffed, Rejected> {
    if let Some(kind) = opendocument(bytes) {
        return Ok(kind.into());
    }
    let names = central_directory_names(bytes).unwrap_or_else(|| local_header_names(bytes));
    if names
        .iter()
        .any(|n| n.to_ascii_lowercase().ends_with("vbaproject.bin"))
    {
        return Err(Rejected::not_allowed(
            "Office files with macros aren't allowed; save it as .docx, .xlsx or .pptx without macros.",
        ));
    }
    let has_content_types = names.iter().any(|n| n == "[Content_Types].xml");
    let mut kinds: Vec<AllowedType> = Vec::new();
    for (folder, kind) in [("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)] {
        if names.iter().any(|n| n.starts_with(folder)) {
            kinds.push(kind);
        }
    }
    match (has_content_types, kinds.as_slice()) {
        (true, [kind]) => Ok((*kind).into()),
        _ => Err(Rejected::not_allowed(
            "ZIP archives aren't allowed unless they are Word, Excel, PowerPoint or OpenDocument files.",
        )),
    }
}

/// ODF packages start with an uncompressed `mimetype` entry naming the document type.
fn opendocument(bytes: &[u8]) -> Option<AllowedType> {
    let method = u16_at(bytes, 8)?;
    let size = u32_at(bytes, 18)? as usize;
    let name_len = u16_at(bytes, 26)? as usize;
    let extra_len = u16_at(bytes, 28)? as usize;
    if method != 0 || bytes.get(30..30 + name_len)? != b"mimetype" {
        return None;
    }
    let start = 30 + name_len + extra_len;
    let mime = bytes.get(start..start.checked_add(size)?)?;
    [ODT, ODS, ODP]
        .into_iter()
        .find(|kind| mime == kind.mime.as_bytes())
}

/// Entry names from the central directory, if the bytes reach the end of the archive.
fn central_directory_names(bytes: &[u8]) -> Option<Vec<String>> {
    // The end record is 22 bytes plus a comment of up to 65,535 bytes.
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(u16::MAX as usize);
    let end = (first..=last)
        .rev()
        .find(|&at| bytes.get(at..at + 4) == Some(ZIP_END))?;
    let count = u16_at(bytes, end + 10)? as usize;
    let size = u32_at(bytes, end + 12)? as usize;
    let offset = u32_at(bytes, end + 16)? as usize;
    // ZIP64 archives and archives with data prepended (self-extractors) don't line up;
    // the local-header walk handles those.
    if offset.checked_add(size)? > end {
        return None;
    }
    let mut names = Vec::new();
    let mut at = offset;
    for _ in 0..count.min(MAX_CONTAINER_ITEMS) {
        if bytes.get(at..at + 4)? != ZIP_CENTRAL {
            return None;
        }
        let name_len = u16_at(bytes, at + 28)? as usize;
        let extra_len = u16_at(bytes, at + 30)? as usize;
        let comment_len = u16_at(bytes, at + 32)? as usize;
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(names)
}

/// Entry names from the local file headers within the bytes given.
fn local_header_names(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0usize;
    while names.len() < MAX_CONTAINER_ITEMS && bytes.get(at..at + 4) == Some(ZIP_LOCAL) {
        let (Some(flags), Some(size), Some(name_len), Some(extra_len)) = (
            u16_at(bytes, at + 6),
            u32_at(bytes, at + 18),
            u16_at(bytes, at + 26),
            u16_at(bytes, at + 28),
        ) else {
            break;
        };
        let name_start = at + 30;
        let Some(name) = bytes.get(name_start..name_start + name_len as usize) else {
            break;
        };
        names.push(String::from_utf8_lossy(name).into_owned());
        let data_start = name_start + name_len as usize + extra_len as usize;
        at = if flags & 0x0008 != 0 && size == 0 {
            // Sizes follow the data (streamed writers): scan for the next header.
            match bytes
                .get(data_start..)
                .and_then(|rest| rest.windows(4).position(|w| w == ZIP_LOCAL))
            {
                Some(found) => data_start + found,
                None => break,
            }
        } else {
            data_start + size as usize
        };
    }
    names
}

const CFB_SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Highest regular sector number; larger values mark free sectors and chain ends.
const CFB_MAX_REGULAR_SECTOR: u32 = 0xFFFF_FFFA;
const CFB_END_OF_CHAIN: u32 = 0xFFFF_FFFE;

/// Root-entry CLSIDs, in their on-disk byte order (first three groups little-endian).
const CLSID_WORD: [u8; 16] = [
    0x06, 0x09, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
const CLSID_EXCEL: [u8; 16] = [
    0x20, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
const CLSID_EXCEL5: [u8; 16] = [
    0x10, 0x08, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
const CLSID_POWERPOINT: [u8; 16] = [
    0x10, 0x8D, 0x81, 0x64, 0x9B, 0x4F, 0xCF, 0x11, 0x86, 0xEA, 0x00, 0xAA, 0x00, 0xB9, 0x29, 0xE8,
];
/// Windows Installer package, patch and merge module ({000C1084…}, {000C1086…}, {000C1082…}).
const CLSID_MSI: [[u8; 16]; 3] = [
    [
        0x84, 0x10, 0x0C, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
    [
        0x86, 0x10, 0x0C, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
    [
        0x82, 0x10, 0x0C, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ],
];

/// What was readable of a compound file's directory.
struct CfbDirectory {
    root_clsid: Option<[u8; 16]>,
    /// Whether the whole directory chain was within the bytes given.
    complete: bool,
    /// Entry names, lower-cased (CFB names compare case-insensitively).
    names: Vec<String>,
}

fn legacy_office(bytes: &[u8]) -> Result<Sniffed, Rejected> {
    let unverifiable = || {
        Rejected::not_allowed(
            "This older Office file couldn't be verified; save it as .docx, .xlsx or .pptx (or PDF) and upload that.",
        )
    };
    let dir = cfb_directory(bytes).ok_or_else(unverifiable)?;
    if dir.root_clsid.is_some_and(|c| CLSID_MSI.contains(&c)) {
        return Err(Rejected::not_allowed(
            "Installer packages (.msi) aren't allowed.",
        ));
    }
    let has = |name: &str| dir.names.iter().any(|n| n == name);
    if has("macros") || has("_vba_project_cur") {
        return Err(Rejected::not_allowed(
            "Office files with macros aren't allowed; save it as .docx, .xlsx or .pptx without macros.",
        ));
    }
    let mut kinds: Vec<AllowedType> = Vec::new();
    if has("worddocument") {
        kinds.push(DOC);
    }
    if has("workbook") || has("book") {
        kinds.push(XLS);
    }
    if has("powerpoint document") {
        kinds.push(PPT);
    }
    if kinds.is_empty() {
        match dir.root_clsid {
            Some(c) if c == CLSID_WORD => kinds.push(DOC),
            Some(c) if c == CLSID_EXCEL || c == CLSID_EXCEL5 => kinds.push(XLS),
            Some(c) if c == CLSID_POWERPOINT => kinds.push(PPT),
            _ => {}
        }
    }
    match kinds.as_slice() {
        [kind] => Ok((*kind).into()),
        [] if dir.complete => Err(Rejected::not_allowed(
            "This compound file isn't a Word, Excel or PowerPoint document.",
        )),
        _ => Err(unverifiable()),
    }
}

/// Reads the directory of an OLE2 compound file by following its sector chain through
/// the FAT, as far as the bytes given reach. `None` if the header is malformed or the
/// first directory sector is out of reach.
fn cfb_directory(bytes: &[u8]) -> Option<CfbDirectory> {
    let shift = u16_at(bytes, 0x1E)?;
    if shift != 9 && shift != 12 {
        return None;
    }
    let sector_size = 1usize << shift;
    let sector_offset = |sector: u32| (sector as usize + 1).checked_mul(sector_size);
    // The header holds the first 109 FAT sector numbers; later ones (files over ~7 MB
    // with 512-byte sectors) aren't followed, which only limits how far the walk goes.
    let fat_sector = |index: usize| -> Option<u32> {
        if index >= 109 {
            return None;
        }
        u32_at(bytes, 0x4C + index * 4)
    };
    let next_sector = |sector: u32| -> Option<u32> {
        let per_sector = sector_size / 4;
        let fat = fat_sector(sector as usize / per_sector)?;
        let at = sector_offset(fat)?.checked_add((sector as usize % per_sector) * 4)?;
        u32_at(bytes, at)
    };

    let mut sector = u32_at(bytes, 0x30)?;
    let mut root_clsid = None;
    let mut names = Vec::new();
    let mut visited = 0;
    let mut read_any = false;
    let mut complete = false;
    while sector <= CFB_MAX_REGULAR_SECTOR && visited < MAX_CONTAINER_ITEMS {
        visited += 1;
        let start = sector_offset(sector)?;
        let Some(block) = bytes.get(start..start.checked_add(sector_size)?) else {
            break;
        };
        read_any = true;
        for entry in block.chunks_exact(128) {
            let kind = entry[0x42];
            if kind == 0 {
                continue;
            }
            let name_len = (u16_at(entry, 0x40)? as usize).min(64);
            let units: Vec<u16> = entry[..name_len]
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .take_while(|&u| u != 0)
                .collect();
            names.push(String::from_utf16_lossy(&units).to_lowercase());
            if kind == 5 {
                let mut clsid = [0u8; 16];
                clsid.copy_from_slice(&entry[0x50..0x60]);
                root_clsid = Some(clsid);
            }
        }
        match next_sector(sector) {
            Some(CFB_END_OF_CHAIN) => {
                complete = true;
                break;
            }
            Some(next) => sector = next,
            None => break,
        }
    }
    read_any.then_some(CfbDirectory {
        root_clsid,
        complete,
        names,
    })
}

/// Windows device names that can't be used as file names, whatever the extension.
const RESERVED_WINDOWS_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// A filename safe for `Content-Disposition` and for saving on any OS: the last path
/// component only; control, invisible and bidi characters and quotes removed; characters
/// Windows forbids (and `%`, which some browsers decode) turned into `_`; whitespace
/// collapsed; no leading dots, no trailing dots or spaces; Windows device names prefixed
/// with `_`; at most [`FILENAME_MAX_CHARS`] characters and [`FILENAME_MAX_BYTES`] bytes,
/// shortening the stem and keeping the extension; [`FALLBACK_FILENAME`] if nothing is
/// left. Unicode letters are kept.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned = String::with_capacity(base.len());
    let mut pending_space = false;
    for c in base.chars() {
        if c.is_control() || is_invisible_format(c) || matches!(c, '"' | '\'' | '`') {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !cleaned.is_empty();
            continue;
        }
        if pending_space {
            cleaned.push(' ');
            pending_space = false;
        }
        cleaned.push(if matches!(c, '<' | '>' | ':' | '|' | '?' | '*' | '%') {
            '_'
        } else {
            c
        });
    }
    let mut name = trim_name(&cleaned).to_owned();

    let stem = name.split('.').next().unwrap_or_default().trim_end();
    if RESERVED_WINDOWS_NAMES.contains(&stem.to_ascii_lowercase().as_str()) {
        name.insert(0, '_');
    }

    let fits = |s: &str| s.chars().count() <= FILENAME_MAX_CHARS && s.len() <= FILENAME_MAX_BYTES;
    if !fits(&name) {
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 16 => {
                (stem.to_owned(), format!(".{ext}"))
            }
            _ => (name.clone(), String::new()),
        };
        let mut kept = String::new();
        for c in stem.chars() {
            let candidate_len = kept.len() + c.len_utf8() + ext.len();
            if kept.chars().count() + 1 + ext.chars().count() > FILENAME_MAX_CHARS
                || candidate_len > FILENAME_MAX_BYTES
            {
                break;
            }
            kept.push(c);
        }
        name = format!("{}{ext}", trim_name(&kept));
        name = trim_name(&name).to_owned();
    }

    if name.is_empty() || name.starts_with('.') {
        FALLBACK_FILENAME.to_owned()
    } else {
        name
    }
}

/// No leading dots or spaces (hidden files, `..`), no trailing dots or spaces (Windows
/// drops them silently).
fn trim_name(name: &str) -> &str {
    name.trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' '])
}

/// A safe filename whose extension matches the sniffed type, so the file opens as what it
/// is (a PNG uploaded as `report.pdf` downloads as `report.png`).
pub fn download_filename(original: &str, sniffed: &Sniffed) -> String {
    let safe = safe_filename(original);
    let accepted: &[&str] = match sniffed.extension {
        "jpg" => &["jpg", "jpeg", "jpe"],
        "md" => &["md", "markdown"],
        "txt" => &[
            "txt", "text", "log", "csv", "tsv", "json", "yaml", "yml", "toml",
        ],
        _ => std::slice::from_ref(&sniffed.extension),
    };
    match extension_of(&safe) {
        Some(ext) if accepted.contains(&ext.as_str()) => safe,
        Some(_) => {
            let stem = safe
                .rsplit_once('.')
                .map_or(safe.as_str(), |(stem, _)| stem);
            safe_filename(&format!("{stem}.{}", sniffed.extension))
        }
        None if safe == FALLBACK_FILENAME => format!("{FALLBACK_FILENAME}.{}", sniffed.extension),
        None => safe_filename(&format!("{safe}.{}", sniffed.extension)),
    }
}

/// A download's name made of what it holds: `["resume", "Dana Reyes", "2026-12-01"]` and
/// `pdf` give `resume-dana-reyes-2026-12-01.pdf`. Each part is lower-cased, every run of
/// characters other than letters and digits becomes one `-` (Unicode letters are kept),
/// empty parts are left out and the stem is cut to 80 characters.
pub fn document_filename(parts: &[&str], extension: &str) -> String {
    let mut stem = String::new();
    for part in parts {
        let mut dash = !stem.is_empty();
        for c in part.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() && !is_invisible_format(c) {
                if dash {
                    stem.push('-');
                    dash = false;
                }
                stem.push(c);
            } else {
                dash = !stem.is_empty();
            }
        }
    }
    let mut stem: String = stem.chars().take(80).collect();
    while stem.ends_with('-') {
        stem.pop();
    }
    if stem.is_empty() {
        stem.push_str("document");
    }
    format!("{stem}.{extension}")
}

/// A `Content-Disposition: attachment` value with an ASCII `filename` fallback and the
/// full UTF-8 name in `filename*` (RFC 6266 / RFC 5987).
pub fn content_disposition(filename: &str) -> String {
    let safe = safe_filename(filename);
    // safe_filename removed quotes and backslashes, so the ASCII form needs no escaping.
    let ascii: String = safe
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(safe.len() * 3);
    for byte in safe.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
