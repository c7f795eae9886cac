//! Text encoding and glyph metrics for the PDF base-14 fonts.
//!
//! The PDF writer uses the standard Helvetica family and Courier, which every PDF reader
//! ships, so nothing is embedded and no font file is needed on the server. Those fonts
//! only cover WinAnsiEncoding (Windows-1252), so text is mapped as follows:
//! - ASCII and Latin-1 pass through unchanged;
//! - typographic punctuation that WinAnsi has (curly quotes, en/em dash, bullet, ellipsis,
//!   euro, trade mark, ...) uses its WinAnsi code, so it prints as the real glyph;
//! - look-alikes WinAnsi lacks become the nearest glyph (non-breaking hyphen and minus to
//!   `-`, thin/em spaces to a space, arrows and comparison signs to ASCII like `->`, `<=`,
//!   full-width ASCII forms to ASCII);
//! - Latin letters with diacritics outside Latin-1 lose the diacritic (`Ł` → `L`, `č` → `c`);
//! - invisible characters (zero-width spaces, joiners, bidi marks, variation selectors,
//!   combining marks, control characters) are dropped;
//! - anything else (CJK, Cyrillic, Greek, emoji, ...) becomes `?`.
//!
//! The HTML and DOCX outputs keep the full Unicode text; only the PDF is affected.

/// A font face used by the PDF layout; each maps to one base-14 font resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Face {
    Regular,
    Bold,
    Italic,
    BoldItalic,
    Mono,
}

impl Face {
    /// All faces, in the order their font resources are written.
    pub(crate) const ALL: [Face; 5] = [
        Face::Regular,
        Face::Bold,
        Face::Italic,
        Face::BoldItalic,
        Face::Mono,
    ];

    /// Picks the face for a span style; code wins because Courier has no bold variant here.
    pub(crate) fn for_style(bold: bool, italic: bool, code: bool) -> Face {
        match (code, bold, italic) {
            (true, _, _) => Face::Mono,
            (false, true, true) => Face::BoldItalic,
            (false, true, false) => Face::Bold,
            (false, false, true) => Face::Italic,
            (false, false, false) => Face::Regular,
        }
    }

    /// PostScript name of the base-14 font.
    pub(crate) fn base_font(self) -> &'static [u8] {
        match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
            Face::Italic => b"Helvetica-Oblique",
            Face::BoldItalic => b"Helvetica-BoldOblique",
            Face::Mono => b"Courier",
        }
    }

    /// Resource name used in content streams.
    pub(crate) fn resource(self) -> &'static [u8] {
        match self {
            Face::Regular => b"F1",
            Face::Bold => b"F2",
            Face::Italic => b"F3",
            Face::BoldItalic => b"F4",
            Face::Mono => b"F5",
        }
    }

    /// Advance width of one WinAnsi byte in 1/1000 em.
    pub(crate) fn units(self, byte: u8) -> u16 {
        let table = match self {
            // Courier is monospaced: every glyph advances 600 units.
            Face::Mono => return if byte < 32 { 0 } else { 600 },
            Face::Regular | Face::Italic => &HELVETICA,
            Face::Bold | Face::BoldItalic => &HELVETICA_BOLD,
        };
        match byte.checked_sub(32) {
            Some(i) => table[usize::from(i)],
            None => 0,
        }
    }

    /// Width in points of WinAnsi bytes set at `size` points.
    pub(crate) fn width(self, bytes: &[u8], size: f32) -> f32 {
        let units: u32 = bytes.iter().map(|&b| u32::from(self.units(b))).sum();
        units as f32 * size / 1000.0
    }
}

/// Encodes text as WinAnsi bytes following the rules in the module docs.
pub(crate) fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        encode_char(c, &mut out);
    }
    out
}

/// Appends the WinAnsi encoding of one character (zero, one or a few bytes).
pub(crate) fn encode_char(c: char, out: &mut Vec<u8>) {
    let code = u32::from(c);
    match c {
        ' '..='~' => out.push(code as u8),
        // The soft hyphen would always print in a PDF; it only hints at a break point.
        '\u{AD}' => {}
        // Windows-1252 equals Latin-1 from 0xA0 up.
        '\u{A0}'..='\u{FF}' => out.push(code as u8),
        '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.push(b' '),
        _ => {
            if let Some(b) = cp1252_special(c) {
                out.push(b);
            } else if let Some(s) = lookalike(c) {
                out.extend_from_slice(s.as_bytes());
            } else if is_invisible(c) {
                // Dropped on purpose: these have no glyph of their own.
            } else if let Some(s) = fold_latin(c) {
                out.extend_from_slice(s.as_bytes());
            } else if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
                // Full-width ASCII forms (common in CJK text) map onto ASCII.
                out.push((code - 0xFEE0) as u8);
            } else {
                out.push(b'?');
            }
        }
    }
}

/// The Windows-1252 codes 0x80–0x9F that carry printable characters.
fn cp1252_special(c: char) -> Option<u8> {
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        // Close relatives of the glyphs above.
        '\u{201B}' => 0x91,
        '\u{201F}' => 0x93,
        '\u{2015}' => 0x97,
        '\u{2012}' => 0x96,
        '\u{25CF}' | '\u{25AA}' | '\u{25E6}' | '\u{2219}' | '\u{2023}' | '\u{25A0}'
        | '\u{25B8}' | '\u{25B6}' | '\u{27A2}' => 0x95,
        _ => return None,
    })
}

/// ASCII stand-ins for common symbols that WinAnsi lacks.
fn lookalike(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2010}' | '\u{2011}' | '\u{2043}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' => "-",
        '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        '\u{2032}' => "'",
        '\u{2033}' => "\"",
        '\u{2024}' => ".",
        '\u{2192}' | '\u{27F6}' | '\u{279C}' => "->",
        '\u{2190}' | '\u{27F5}' => "<-",
        '\u{2194}' => "<->",
        '\u{21D2}' => "=>",
        '\u{2264}' => "<=",
        '\u{2265}' => ">=",
        '\u{2260}' => "!=",
        '\u{2248}' => "~",
        '\u{2116}' => "No.",
        '\u{2713}' | '\u{2714}' | '\u{2705}' => "[x]",
        '\u{3001}' => ",",
        '\u{3002}' => ".",
        _ => return None,
    })
}

/// Characters that render as nothing: formatting marks, joiners, selectors, controls.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}'
        | '\u{7F}'..='\u{9F}'
        | '\u{300}'..='\u{36F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}')
}

/// Base letter for a Latin letter outside WinAnsi, if it has one.
fn fold_latin(c: char) -> Option<&'static str> {
    LATIN_FOLD
        .binary_search_by(|(k, _)| k.cmp(&c))
        .ok()
        .map(|i| LATIN_FOLD[i].1)
}

// Generated from the Adobe Core 14 AFM metrics (Helvetica, Helvetica-Bold), indexed by
// WinAnsiEncoding byte - 32. Oblique faces share the upright widths. Unit: 1/1000 em.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    350, 556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556,
    537, 278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278,
    278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    350, 556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611,
    556, 278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278,
    278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

// Letters outside WinAnsi folded to their base letter (NFD first code point, plus a few
// letters with no decomposition such as ł and đ), sorted for binary search.
const LATIN_FOLD: [(char, &str); 205] = [
    ('\u{0100}', "A"),
    ('\u{0101}', "a"),
    ('\u{0102}', "A"),
    ('\u{0103}', "a"),
    ('\u{0104}', "A"),
    ('\u{0105}', "a"),
    ('\u{0106}', "C"),
    ('\u{0107}', "c"),
    ('\u{0108}', "C"),
    ('\u{0109}', "c"),
    ('\u{010A}', "C"),
    ('\u{010B}', "c"),
    ('\u{010C}', "C"),
    ('\u{010D}', "c"),
    ('\u{010E}', "D"),
    ('\u{010F}', "d"),
    ('\u{0110}', "D"),
    ('\u{0111}', "d"),
    ('\u{0112}', "E"),
    ('\u{0113}', "e"),
    ('\u{0114}', "E"),
    ('\u{0115}', "e"),
    ('\u{0116}', "E"),
    ('\u{0117}', "e"),
    ('\u{0118}', "E"),
    ('\u{0119}', "e"),
    ('\u{011A}', "E"),
    ('\u{011B}', "e"),
    ('\u{011C}', "G"),
    ('\u{011D}', "g"),
    ('\u{011E}', "G"),
    ('\u{011F}', "g"),
    ('\u{0120}', "G"),
    ('\u{0121}', "g"),
    ('\u{0122}', "G"),
    ('\u{0123}', "g"),
    ('\u{0124}', "H"),
    ('\u{0125}', "h"),
    ('\u{0126}', "H"),
    ('\u{0127}', "h"),
    ('\u{0128}', "I"),
    ('\u{0129}', "i"),
    ('\u{012A}', "I"),
    ('\u{012B}', "i"),
    ('\u{012C}', "I"),
    ('\u{012D}', "i"),
    ('\u{012E}', "I"),
    ('\u{012F}', "i"),
    ('\u{0130}', "I"),
    ('\u{0131}', "i"),
    ('\u{0132}', "IJ"),
    ('\u{0133}', "ij"),
    ('\u{0134}', "J"),
    ('\u{0135}', "j"),
    ('\u{0136}', "K"),
    ('\u{0137}', "k"),
    ('\u{0138}', "k"),
    ('\u{0139}', "L"),
    ('\u{013A}', "l"),
    ('\u{013B}', "L"),
    ('\u{013C}', "l"),
    ('\u{013D}', "L"),
    ('\u{013E}', "l"),
    ('\u{013F}', "L"),
    ('\u{0140}', "l"),
    ('\u{0141}', "L"),
    ('\u{0142}', "l"),
    ('\u{0143}', "N"),
    ('\u{0144}', "n"),
    ('\u{0145}', "N"),
    ('\u{0146}', "n"),
    ('\u{0147}', "N"),
    ('\u{0148}', "n"),
    ('\u{0149}', "n"),
    ('\u{014C}', "O"),
    ('\u{014D}', "o"),
    ('\u{014E}', "O"),
    ('\u{014F}', "o"),
    ('\u{0150}', "O"),
    ('\u{0151}', "o"),
    ('\u{0154}', "R"),
    ('\u{0155}', "r"),
    ('\u{0156}', "R"),
    ('\u{0157}', "r"),
    ('\u{0158}', "R"),
    ('\u{0159}', "r"),
    ('\u{015A}', "S"),
    ('\u{015B}', "s"),
    ('\u{015C}', "S"),
    ('\u{015D}', "s"),
    ('\u{015E}', "S"),
    ('\u{015F}', "s"),
    ('\u{0162}', "T"),
    ('\u{0163}', "t"),
    ('\u{0164}', "T"),
    ('\u{0165}', "t"),
    ('\u{0166}', "T"),
    ('\u{0167}', "t"),
    ('\u{0168}', "U"),
    ('\u{0169}', "u"),
    ('\u{016A}', "U"),
    ('\u{016B}', "u"),
    ('\u{016C}', "U"),
    ('\u{016D}', "u"),
    ('\u{016E}', "U"),
    ('\u{016F}', "u"),
    ('\u{0170}', "U"),
    ('\u{0171}', "u"),
    ('\u{0172}', "U"),
    ('\u{0173}', "u"),
    ('\u{0174}', "W"),
    ('\u{0175}', "w"),
    ('\u{0176}', "Y"),
    ('\u{0177}', "y"),
    ('\u{0179}', "Z"),
    ('\u{017A}', "z"),
    ('\u{017B}', "Z"),
    ('\u{017C}', "z"),
    ('\u{017F}', "s"),
    ('\u{0180}', "b"),
    ('\u{0197}', "I"),
    ('\u{019A}', "l"),
    ('\u{01A0}', "O"),
    ('\u{01A1}', "o"),
    ('\u{01AF}', "U"),
    ('\u{01B0}', "u"),
    ('\u{01CD}', "A"),
    ('\u{01CE}', "a"),
    ('\u{01CF}', "I"),
    ('\u{01D0}', "i"),
    ('\u{01D1}', "O"),
    ('\u{01D2}', "o"),
    ('\u{01D3}', "U"),
    ('\u{01D4}', "u"),
    ('\u{01D5}', "U"),
    ('\u{01D6}', "u"),
    ('\u{01D7}', "U"),
    ('\u{01D8}', "u"),
    ('\u{01D9}', "U"),
    ('\u{01DA}', "u"),
    ('\u{01DB}', "U"),
    ('\u{01DC}', "u"),
    ('\u{01DE}', "A"),
    ('\u{01DF}', "a"),
    ('\u{01E0}', "A"),
    ('\u{01E1}', "a"),
    ('\u{01E6}', "G"),
    ('\u{01E7}', "g"),
    ('\u{01E8}', "K"),
    ('\u{01E9}', "k"),
    ('\u{01EA}', "O"),
    ('\u{01EB}', "o"),
    ('\u{01EC}', "O"),
    ('\u{01ED}', "o"),
    ('\u{01F0}', "j"),
    ('\u{01F4}', "G"),
    ('\u{01F5}', "g"),
    ('\u{01F8}', "N"),
    ('\u{01F9}', "n"),
    ('\u{01FA}', "A"),
    ('\u{01FB}', "a"),
    ('\u{0200}', "A"),
    ('\u{0201}', "a"),
    ('\u{0202}', "A"),
    ('\u{0203}', "a"),
    ('\u{0204}', "E"),
    ('\u{0205}', "e"),
    ('\u{0206}', "E"),
    ('\u{0207}', "e"),
    ('\u{0208}', "I"),
    ('\u{0209}', "i"),
    ('\u{020A}', "I"),
    ('\u{020B}', "i"),
    ('\u{020C}', "O"),
    ('\u{020D}', "o"),
    ('\u{020E}', "O"),
    ('\u{020F}', "o"),
    ('\u{0210}', "R"),
    ('\u{0211}', "r"),
    ('\u{0212}', "R"),
    ('\u{0213}', "r"),
    ('\u{0214}', "U"),
    ('\u{0215}', "u"),
    ('\u{0216}', "U"),
    ('\u{0217}', "u"),
    ('\u{0218}', "S"),
    ('\u{0219}', "s"),
    ('\u{021A}', "T"),
    ('\u{021B}', "t"),
    ('\u{021E}', "H"),
    ('\u{021F}', "h"),
    ('\u{0226}', "A"),
    ('\u{0227}', "a"),
    ('\u{0228}', "E"),
    ('\u{0229}', "e"),
    ('\u{022A}', "O"),
    ('\u{022B}', "o"),
    ('\u{022C}', "O"),
    ('\u{022D}', "o"),
    ('\u{022E}', "O"),
    ('\u{022F}', "o"),
    ('\u{0230}', "O"),
    ('\u{0231}', "o"),
    ('\u{0232}', "Y"),
    ('\u{0233}', "y"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_text_to_winansi() {
        assert_eq!(encode("Hello"), b"Hello");
        assert_eq!(encode("Brontë Ærø"), b"Bront\xEB \xC6r\xF8");
        assert_eq!(
            encode("“a” ‘b’ – — • … € ™"),
            b"\x93a\x94 \x91b\x92 \x96 \x97 \x95 \x85 \x80 \x99"
        );
        assert_eq!(encode("Łódź Čapek ő"), b"L\xF3dz Capek o");
        assert_eq!(encode("a\u{2011}b\u{2212}c → ≤"), b"a-b-c -> <=");
        assert_eq!(encode("x\u{200B}y\u{FE0F}e\u{301}"), b"xye");
        assert_eq!(encode("東京 🚀 Ж"), b"?? ? ?");
        assert_eq!(encode("ＡＢＣ"), b"ABC");
        assert_eq!(encode("a\u{AD}b\u{0}c\u{7}"), b"abc");
    }

    #[test]
    fn fold_table_is_sorted() {
        assert!(LATIN_FOLD.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
