//! JSON encoding of log lines whose bytes carry no terminal control.
//!
//! `serde_json` escapes C0 controls but writes DEL, C1 controls (U+0080-U+009F, e.g. the
//! 8-bit CSI U+009B) and bidi overrides as raw UTF-8, so `cat`/`less`/`grep` of a log could
//! replay an attacker's escape sequence or reverse what the reader sees. Here every character
//! [`is_unsafe`] flags is written as a `\uXXXX` escape instead: lossless (reading back yields
//! the same strings) and plain on disk.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

use crate::text::is_unsafe;

/// The compact formatter, plus `\uXXXX` escapes for every unsafe character.
struct PlainFormatter;

impl Formatter for PlainFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + Write,
    {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                // Every unsafe character is in the Basic Multilingual Plane: one escape.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` as one compact JSON line (no newline) without raw terminal controls.
pub(crate) fn to_line<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut Serializer::with_formatter(&mut out, PlainFormatter))?;
    Ok(out)
}

/// Length of the seal suffix `,"hash":"<64 hex>"}` that replaces a line's closing `}`.
const SEAL_LEN: usize = ",\"hash\":\"\"}".len() + 64;

/// Seal a JSON object line: its closing `}` becomes `,"hash":"<sha256 of the unsealed line>"}`,
/// so an edit of any line, the last one included, is detected (the `prev` chain covers every
/// line but the last).
pub(crate) fn seal(mut line: Vec<u8>) -> Vec<u8> {
    let hash = super::tail::line_hash(&line);
    line.pop();
    line.extend_from_slice(b",\"hash\":\"");
    line.extend_from_slice(hash.as_bytes());
    line.extend_from_slice(b"\"}");
    line
}

/// `Some(true)` when a sealed line's hash matches its content, `Some(false)` when it does not,
/// `None` when the line carries no seal (written before seals existed).
pub(crate) fn seal_ok(line: &[u8]) -> Option<bool> {
    if line.len() < SEAL_LEN + 1 {
        return None;
    }
    let (body, tail) = line.split_at(line.len() - SEAL_LEN);
    let hex = tail.strip_prefix(b",\"hash\":\"")?.strip_suffix(b"\"}")?;
    if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut unsealed = body.to_vec();
    unsealed.push(b'}');
    Some(super::tail::line_hash(&unsealed).as_bytes() == hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn unsafe_characters_are_escaped_and_round_trip() {
        let v = json!({ "s\u{202e}k": "a\u{1b}[2J\u{7f}\u{9b}31m\u{202e}x\u{2028}é日本" });
        let line = to_line(&v).expect("encode");
        let text = String::from_utf8(line.clone()).expect("utf-8");
        assert_eq!(text, r#"{"s\u202ek":"a\u001b[2J\u007f\u009b31m\u202ex\u2028é日本"}"#);
        assert!(!text.chars().any(is_unsafe));
        assert_eq!(serde_json::from_slice::<Value>(&line).expect("decode"), v);
    }

    #[test]
    fn plain_text_is_encoded_like_serde_json() {
        let v = json!({ "seq": 1, "summary": "ok \"quoted\" \\ ✓", "n": [1.5, null, true] });
        assert_eq!(to_line(&v).expect("encode"), serde_json::to_vec(&v).expect("encode"));
    }

    #[test]
    fn a_sealed_line_detects_any_edit_and_still_parses() {
        let line = to_line(&json!({ "seq": 1, "summary": "second note", "prev": "0" })).unwrap();
        let sealed = seal(line.clone());
        assert_eq!(seal_ok(&sealed), Some(true));
        let v: Value = serde_json::from_slice(&sealed).unwrap();
        assert_eq!(v["summary"], "second note");
        let edited = String::from_utf8(sealed.clone()).unwrap().replace("second", "econd");
        assert_eq!(seal_ok(edited.as_bytes()), Some(false));
        assert_eq!(seal_ok(&line), None, "an unsealed (older) line is recognised as such");
    }
}
