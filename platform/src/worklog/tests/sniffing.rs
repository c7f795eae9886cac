//! Attachment sniffing with real magic bytes built here, and filename sanitising.

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::super::sniff::{
    content_disposition, document_filename, download_filename, safe_filename, sniff, Sniffed,
    ALLOWED_TYPES, FALLBACK_FILENAME, FILENAME_MAX_BYTES, FILENAME_MAX_CHARS, SNIFF_MIN_BYTES,
};

fn mime(bytes: &[u8], name: &str) -> &'static str {
    match sniff(bytes, name) {
        Ok(s) => s.mime,
        Err(r) => panic!("{name} rejected: {}", r.reason),
    }
}

fn rejection(bytes: &[u8], name: &str) -> String {
    match sniff(bytes, name) {
        Ok(s) => panic!("{name} accepted as {}", s.mime),
        Err(r) => {
            assert_eq!(r.code, "attachment_type_not_allowed", "{}", r.reason);
            r.reason
        }
    }
}

const PNG_HEADER: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const JPEG_HEADER: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";

/// A ZIP archive with stored (uncompressed) entries and a central directory.
fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with_flags(entries, 0)
}

/// Like [`zip`]; with `flags` bit 3 set the local headers carry zero sizes, as streaming
/// writers produce.
fn zip_with_flags(entries: &[(&str, &[u8])], flags: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let local_size = if flags & 8 != 0 { 0 } else { data.len() as u32 };
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&[0; 4]); // time, date
        out.extend_from_slice(&[0; 4]); // crc (not checked by sniffing)
        out.extend_from_slice(&local_size.to_le_bytes());
        out.extend_from_slice(&local_size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        if flags & 8 != 0 {
            out.extend_from_slice(b"PK\x07\x08");
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        }

        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&20u16.to_le_bytes()); // version needed
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&[0; 8]); // time, date, crc
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(data.len() as u32).to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]); // extra, comment, disk, internal/external attrs (part)
        central.extend_from_slice(&[0; 2]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // comment length
    out
}

const CONTENT_TYPES: &[u8] = b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>";

fn ooxml(main_part: &str) -> Vec<u8> {
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", b"<Relationships/>"),
        (main_part, b"<document/>"),
    ])
}

#[test]
fn images_and_pdf_by_magic_bytes() {
    assert_eq!(mime(PNG_HEADER, "a.png"), "image/png");
    assert_eq!(mime(JPEG_HEADER, "a.jpg"), "image/jpeg");
    assert_eq!(mime(b"GIF89a\x01\0\x01\0\x80\0\0", "a.gif"), "image/gif");
    assert_eq!(mime(b"GIF87a\x01\0\x01\0", "a.gif"), "image/gif");
    assert_eq!(
        mime(b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0", "a.webp"),
        "image/webp"
    );
    assert_eq!(
        mime(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", "a.pdf"),
        "application/pdf"
    );
}

#[test]
fn the_bytes_decide_not_the_name() {
    assert_eq!(
        sniff(PNG_HEADER, "report.pdf"),
        Ok(Sniffed {
            mime: "image/png",
            extension: "png"
        })
    );
    assert_eq!(mime(b"%PDF-1.4\n", "photo.png"), "application/pdf");
    assert_eq!(mime(b"just words", "image.png"), "text/plain");
    // A near-miss signature is not enough.
    assert_eq!(mime(b"GIF is a format", "a.gif"), "text/plain");
    rejection(b"RIFF\x24\0\0\0WAVEfmt ", "a.webp");
}

#[test]
fn office_open_xml_packages() {
    let docx = ooxml("word/document.xml");
    assert_eq!(
        mime(&docx, "cv.docx"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    );
    assert_eq!(sniff(&docx, "renamed.zip").map(|s| s.extension), Ok("docx"));
    assert_eq!(
        mime(&ooxml("xl/workbook.xml"), "a.xlsx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        mime(&ooxml("ppt/presentation.xml"), "a.pptx"),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    );
}

#[test]
fn office_detection_without_the_central_directory() {
    // Only a prefix: the local-header walk must find the parts.
    let docx = ooxml("word/document.xml");
    let central_start = docx.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    assert_eq!(
        sniff(&docx[..central_start], "a.docx").map(|s| s.extension),
        Ok("docx")
    );
    // Streamed archives (sizes after the data) are walked by scanning for headers.
    let streamed = zip_with_flags(
        &[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", b"<d/>"),
        ],
        8,
    );
    let central_start = streamed
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .unwrap();
    assert_eq!(
        sniff(&streamed[..central_start], "a.docx").map(|s| s.extension),
        Ok("docx")
    );
    assert_eq!(sniff(&streamed, "a.docx").map(|s| s.extension), Ok("docx"));
    // Cut before the main part: unverifiable, so refused.
    let cut = docx
        .windows(17)
        .position(|w| w == b"word/document.xml")
        .unwrap();
    rejection(&docx[..cut], "a.docx");
}

#[test]
fn opendocument_packages() {
    for (mime_type, ext) in [
        ("application/vnd.oasis.opendocument.text", "odt"),
        ("application/vnd.oasis.opendocument.spreadsheet", "ods"),
        ("application/vnd.oasis.opendocument.presentation", "odp"),
    ] {
        let file = zip(&[
            ("mimetype", mime_type.as_bytes()),
            ("content.xml", b"<office:document-content/>"),
        ]);
        assert_eq!(
            sniff(&file, "x").map(|s| (s.mime, s.extension)),
            Ok((mime_type, ext))
        );
    }
    // Other OpenDocument kinds (drawings, formulas, templates) aren't on the list.
    let odg = zip(&[
        ("mimetype", b"application/vnd.oasis.opendocument.graphics"),
        ("content.xml", b"<x/>"),
    ]);
    rejection(&odg, "a.odg");
}

#[test]
fn archives_that_are_not_office_documents_are_refused() {
    let reason = rejection(&zip(&[("hello.txt", b"hi")]), "notes.docx");
    assert!(reason.contains("ZIP"), "{reason}");
    // Office-looking but with both word/ and xl/ parts: ambiguous, refused.
    rejection(
        &zip(&[
            ("[Content_Types].xml", CONTENT_TYPES),
            ("word/document.xml", b"x"),
            ("xl/workbook.xml", b"x"),
        ]),
        "a.docx",
    );
    // Parts without [Content_Types].xml aren't an OOXML package.
    rejection(&zip(&[("word/document.xml", b"x")]), "a.docx");
    // Java archives, EPUBs and the like are ZIPs too.
    rejection(&zip(&[("META-INF/MANIFEST.MF", b"Main-Class: x")]), "a.jar");
    rejection(&zip(&[("mimetype", b"application/epub+zip")]), "a.epub");
    let gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\x48\xcd\xc9\xc9\x07\x00";
    let reason = rejection(gzip, "a.gz");
    assert!(reason.contains("Archives"), "{reason}");
}

#[test]
fn macro_enabled_office_files_are_refused() {
    let docm = zip(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("word/document.xml", b"<d/>"),
        ("word/vbaProject.bin", b"\xD0\xCF\x11\xE0"),
    ]);
    assert!(rejection(&docm, "a.docx").contains("macros"));
}

/// A minimal OLE2 compound file (v3, 512-byte sectors): header, one FAT sector, one
/// directory sector holding a root entry plus `streams`.
fn compound_file(clsid: [u8; 16], streams: &[&str]) -> Vec<u8> {
    let mut file = vec![0u8; 512 * 3];
    file[..8].copy_from_slice(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    file[0x18..0x1A].copy_from_slice(&0x3Eu16.to_le_bytes()); // minor version
    file[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes()); // major version 3
    file[0x1C..0x1E].copy_from_slice(&0xFFFEu16.to_le_bytes()); // byte order
    file[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes()); // 512-byte sectors
    file[0x20..0x22].copy_from_slice(&6u16.to_le_bytes()); // 64-byte mini sectors
    file[0x2C..0x30].copy_from_slice(&1u32.to_le_bytes()); // one FAT sector
    file[0x30..0x34].copy_from_slice(&1u32.to_le_bytes()); // directory starts at sector 1
    file[0x38..0x3C].copy_from_slice(&4096u32.to_le_bytes());
    file[0x3C..0x40].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no mini FAT
    file[0x44..0x48].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes()); // no DIFAT sectors
    for i in 0..109 {
        let at = 0x4C + i * 4;
        let value: u32 = if i == 0 { 0 } else { 0xFFFF_FFFF };
        file[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    // FAT (sector 0, at 512): sector 0 is a FAT sector, sector 1 ends the directory chain.
    let fat = 512;
    file[fat..fat + 4].copy_from_slice(&0xFFFF_FFFDu32.to_le_bytes());
    file[fat + 4..fat + 8].copy_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
    for i in 2..128 {
        file[fat + i * 4..fat + i * 4 + 4].copy_from_slice(&0xFFFF_FFFFu32.to_le_bytes());
    }
    // Directory (sector 1, at 1024).
    let mut write_entry = |index: usize, name: &str, kind: u8, clsid: [u8; 16]| {
        let at = 1024 + index * 128;
        let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        for (i, u) in units.iter().enumerate() {
            file[at + i * 2..at + i * 2 + 2].copy_from_slice(&u.to_le_bytes());
        }
        file[at + 0x40..at + 0x42].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
        file[at + 0x42] = kind;
        file[at + 0x50..at + 0x60].copy_from_slice(&clsid);
    };
    write_entry(0, "Root Entry", 5, clsid);
    for (i, name) in streams.iter().enumerate() {
        write_entry(i + 1, name, 2, [0; 16]);
    }
    file
}

const CLSID_WORD: [u8; 16] = [
    0x06, 0x09, 0x02, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];
const CLSID_MSI: [u8; 16] = [
    0x84, 0x10, 0x0C, 0x00, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
];

#[test]
fn legacy_office_files_by_their_directory() {
    assert_eq!(
        mime(
            &compound_file(CLSID_WORD, &["WordDocument", "1Table"]),
            "a.doc"
        ),
        "application/msword"
    );
    assert_eq!(
        mime(&compound_file([0; 16], &["Workbook"]), "a.xls"),
        "application/vnd.ms-excel"
    );
    assert_eq!(
        mime(&compound_file([0; 16], &["Book"]), "a.xls"),
        "application/vnd.ms-excel"
    );
    assert_eq!(
        mime(
            &compound_file([0; 16], &["PowerPoint Document", "Current User"]),
            "a.ppt"
        ),
        "application/vnd.ms-powerpoint"
    );
    // Root CLSID alone is enough when the stream names say nothing.
    assert_eq!(
        mime(&compound_file(CLSID_WORD, &[]), "a.doc"),
        "application/msword"
    );
}

#[test]
fn other_compound_files_are_refused() {
    assert!(
        rejection(&compound_file(CLSID_MSI, &["\u{4840}x"]), "setup.doc").contains("Installer")
    );
    assert!(rejection(
        &compound_file([0; 16], &["__substg1.0_0037001F"]),
        "mail.msg"
    )
    .contains("isn't a Word"));
    assert!(rejection(
        &compound_file(CLSID_WORD, &["WordDocument", "Macros"]),
        "a.doc"
    )
    .contains("macros"));
    // Directory beyond the bytes given: can't verify, so refused.
    let doc = compound_file(CLSID_WORD, &["WordDocument"]);
    assert!(rejection(&doc[..1024], "a.doc").contains("couldn't be verified"));
    // Garbage after the signature doesn't panic.
    rejection(
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0xFF],
        "a.doc",
    );
}

#[test]
fn executables_are_refused() {
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    elf.resize(64, 0);
    assert!(rejection(&elf, "photo.png").contains("executables"));
    let mut pe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    pe.resize(128, 0);
    pe[0x3C] = 0x40;
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    assert!(rejection(&pe, "report.pdf").contains("executables"));
    rejection(b"\xCF\xFA\xED\xFE\x07\0\0\x01\x03\0\0\0", "a.txt"); // Mach-O
    rejection(b"#!/bin/sh\nrm -rf ~\n", "notes.txt");
    rejection(b"\xEF\xBB\xBF  #!/usr/bin/env python\n", "notes.txt");
}

#[test]
fn markup_is_refused() {
    for (body, name) in [
        (
            &b"<!DOCTYPE html><html><script>alert(1)</script>"[..],
            "a.txt",
        ),
        (b"  <html>", "a.md"),
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            "a.txt",
        ),
        (b"<?xml version=\"1.0\"?><svg/>", "image.png"),
        (b"\xEF\xBB\xBF\n<script>alert(1)</script>", "a.txt"),
        (b"<!-- comment -->", "a.txt"),
        (b"</p>", "a.txt"),
    ] {
        let reason = rejection(body, name);
        assert!(reason.contains("HTML"), "{reason}");
    }
    // Harmless text that starts with '<' but isn't a tag.
    assert_eq!(mime(b"<3 this team", "a.txt"), "text/plain");
    // Dangerous extensions are refused even for plain words.
    for name in [
        "page.html",
        "x.SVG",
        "run.bat",
        "a.js",
        "b.ps1",
        "c.sh",
        "dir/evil.hta",
    ] {
        let reason = rejection(b"plain words", name);
        assert!(reason.contains("aren't allowed"), "{reason}");
    }
    rejection(b"{\\rtf1\\ansi hello}", "a.txt");
    rejection(b"%!PS-Adobe-3.0", "a.txt");
}

#[test]
fn text_and_markdown() {
    let text = "Notes — ünïcödé 日本語 😀\nline two\n".as_bytes();
    assert_eq!(
        sniff(text, "notes.txt"),
        Ok(Sniffed {
            mime: "text/plain",
            extension: "txt"
        })
    );
    assert_eq!(
        sniff(text, "notes"),
        Ok(Sniffed {
            mime: "text/plain",
            extension: "txt"
        })
    );
    assert_eq!(
        sniff(b"# Title\n- item", "notes.md"),
        Ok(Sniffed {
            mime: "text/markdown",
            extension: "md"
        })
    );
    assert_eq!(mime(b"# Title", "README.MARKDOWN"), "text/markdown");
    assert_eq!(mime(b"# Title", "a.md.txt"), "text/plain");
    assert_eq!(mime(b"a,b\n1,2\n", "data.csv"), "text/plain");
    assert_eq!(mime(b"\xEF\xBB\xBFwith BOM", "a.txt"), "text/plain");
}

#[test]
fn text_must_be_utf8_without_nul() {
    rejection(b"hello\0world", "a.txt");
    rejection(b"caf\xE9 au lait", "a.txt"); // Latin-1
    rejection(b"\xFF\xFEh\0i\0", "a.txt"); // UTF-16
                                           // A character cut by the end of a sniffing prefix is fine; in a short file it isn't.
    let mut prefix = "é".repeat(SNIFF_MIN_BYTES / 2).into_bytes();
    prefix.push(0xC3);
    assert_eq!(mime(&prefix, "a.txt"), "text/plain");
    rejection(b"abc\xC3", "a.txt");
}

#[test]
fn empty_uploads_are_refused_with_their_own_code() {
    let err = sniff(b"", "a.txt").unwrap_err();
    assert_eq!(err.code, "attachment_empty");
}

#[test]
fn rejection_messages_list_the_allowed_types() {
    let reason = rejection(b"\0\0\0\0", "a.bin");
    for t in ALLOWED_TYPES {
        assert!(reason.contains(t.label), "{reason} lacks {}", t.label);
    }
}

#[test]
fn safe_filenames() {
    assert_eq!(safe_filename("../../etc/passwd"), "passwd");
    assert_eq!(
        safe_filename("C:\\Users\\me\\Report Q1.pdf"),
        "Report Q1.pdf"
    );
    assert_eq!(safe_filename("a\"b'c`d.txt"), "abcd.txt");
    assert_eq!(safe_filename("bad<>:|?*%.txt"), "bad_______.txt");
    assert_eq!(
        safe_filename("tab\there\nnewline\r.txt"),
        "tabherenewline.txt"
    );
    assert_eq!(safe_filename("  spaced   out  .txt  "), "spaced out .txt");
    assert_eq!(
        safe_filename("résumé 日本語 😀.pdf"),
        "résumé 日本語 😀.pdf"
    );
    // Right-to-left override would display "invoice\u{202E}fdp.exe" as "invoiceexe.pdf".
    assert_eq!(safe_filename("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
    assert_eq!(safe_filename(".htaccess"), "htaccess");
    assert_eq!(safe_filename("trailing dots..."), "trailing dots");
    assert_eq!(safe_filename("CON.txt"), "_CON.txt");
    assert_eq!(safe_filename("lpt1"), "_lpt1");
    assert_eq!(safe_filename("console.txt"), "console.txt");
    for empty in ["", "   ", "..", "/", "dir/", "\"\"", "\u{202E}", "..."] {
        assert_eq!(safe_filename(empty), FALLBACK_FILENAME, "{empty:?}");
    }
}

#[test]
fn long_filenames_keep_their_extension() {
    let long = format!("{}.pdf", "a".repeat(300));
    let safe = safe_filename(&long);
    assert_eq!(safe.chars().count(), FILENAME_MAX_CHARS);
    assert!(safe.ends_with("a.pdf"));
    let wide = format!("{}.docx", "日".repeat(200));
    let safe = safe_filename(&wide);
    assert!(
        safe.len() <= FILENAME_MAX_BYTES && safe.ends_with(".docx"),
        "{safe}"
    );
    let no_ext = "b".repeat(500);
    assert_eq!(safe_filename(&no_ext).len(), FILENAME_MAX_CHARS);
}

#[test]
fn download_names_match_the_sniffed_type() {
    let png = Sniffed {
        mime: "image/png",
        extension: "png",
    };
    let jpeg = Sniffed {
        mime: "image/jpeg",
        extension: "jpg",
    };
    let text = Sniffed {
        mime: "text/plain",
        extension: "txt",
    };
    assert_eq!(download_filename("report.pdf", &png), "report.png");
    assert_eq!(download_filename("shot.PNG", &png), "shot.PNG");
    assert_eq!(download_filename("photo.jpeg", &jpeg), "photo.jpeg");
    assert_eq!(download_filename("photo", &jpeg), "photo.jpg");
    assert_eq!(download_filename("", &png), "attachment.png");
    assert_eq!(download_filename("data.csv", &text), "data.csv");
    assert_eq!(download_filename("trick.exe", &text), "trick.txt");
}

#[test]
fn document_filenames_say_what_the_file_holds() {
    assert_eq!(
        document_filename(&["resume", "Dana Reyes", "2026-12-01"], "pdf"),
        "resume-dana-reyes-2026-12-01.pdf"
    );
    assert_eq!(
        document_filename(&["report", "Q4: Billing & \"Search\"!", "2026-12-31"], "md"),
        "report-q4-billing-search-2026-12-31.md"
    );
    assert_eq!(
        document_filename(&["resume", "", "José Müller"], "docx"),
        "resume-josé-müller.docx"
    );
    assert_eq!(document_filename(&["", "../"], "json"), "document.json");
    let long = "x".repeat(200);
    assert_eq!(document_filename(&[&long], "md").len(), 83);
}

#[test]
fn content_disposition_has_ascii_and_utf8_names() {
    assert_eq!(
        content_disposition("../résumé \"final\".pdf"),
        "attachment; filename=\"r_sum_ final.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf"
    );
    assert_eq!(
        content_disposition("a;b.txt"),
        "attachment; filename=\"a;b.txt\"; filename*=UTF-8''a%3Bb.txt"
    );
}

proptest! {
    #![proptest_config(Config { cases: 500, failure_persistence: None, ..Config::default() })]

    #[test]
    fn safe_filename_is_safe_and_idempotent(name in "\\PC{0,300}|[./\\\\ \"'<>:|?*%a-zA-Z\u{202E}\u{200B}\t\n]{0,40}") {
        let safe = safe_filename(&name);
        prop_assert!(!safe.is_empty());
        prop_assert!(safe.chars().count() <= FILENAME_MAX_CHARS);
        prop_assert!(safe.len() <= FILENAME_MAX_BYTES);
        prop_assert!(!safe.starts_with('.') && !safe.ends_with('.') && !safe.ends_with(' '));
        let forbidden = |c: char| c.is_control()
            || matches!(c, '/' | '\\' | '"' | '\'' | '<' | '>' | ':' | '|' | '?' | '*' | '%' | '\u{202E}' | '\u{200B}');
        prop_assert!(!safe.chars().any(forbidden), "forbidden character in {:?}", safe);
        prop_assert_eq!(safe_filename(&safe), safe.clone());
    }

    #[test]
    fn sniffing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), name in "\\PC{0,20}") {
        let _ = sniff(&bytes, &name);
    }

    #[test]
    fn sniffing_never_panics_on_corrupt_containers(
        tail in prop::collection::vec(any::<u8>(), 0..2000),
        zip_prefix in any::<bool>(),
    ) {
        let mut bytes = if zip_prefix { b"PK\x03\x04".to_vec() } else { vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] };
        bytes.extend(tail);
        prop_assert!(sniff(&bytes, "x.docx").is_err());
    }
}
