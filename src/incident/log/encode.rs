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

use crate::ui::sanitize::is_unsafe;

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
}
