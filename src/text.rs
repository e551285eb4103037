//! Make untrusted backend text safe to draw: every terminal control becomes visible text.
//!
//! Pod names, reasons, errors and Sentinel events come from systems we do not control. A
//! raw `ESC]52;c;...BEL` in a pod's waiting reason would otherwise write the operator's
//! clipboard, and `U+202E` would reverse what they read. [`sanitize`] turns every such
//! character into a visible escape; [`truncate`] cuts text to a display width with `…`.

pub mod grammar;
pub mod redact;

pub use redact::redact;

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Whether `c` must not reach the terminal as is.
///
/// Covers C0 controls (including tab and newline), DEL, C1 controls (U+0080-U+009F,
/// including the 8-bit CSI 0x9B), bidi embeddings/overrides/isolates and marks, and the
/// Unicode line/paragraph separators.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Replace every terminal control in `s` with a visible stand-in.
///
/// Tab becomes a space; other C0 controls and DEL become their Unicode control pictures
/// (`ESC` → `␛`, so `ESC[2J` shows as `␛[2J`, BEL → `␇`, LF → `␊`); C1 controls and bidi
/// characters become `<U+XXXX>`. Text without controls is returned borrowed.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    let Some(first) = s.char_indices().find(|(_, c)| is_unsafe(*c)).map(|(i, _)| i) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        if !is_unsafe(c) {
            out.push(c);
            continue;
        }
        match c {
            '\t' => out.push(' '),
            '\u{0}'..='\u{1F}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('?')),
            '\u{7F}' => out.push('␡'),
            _ => out.push_str(&format!("<U+{:04X}>", c as u32)),
        }
    }
    Cow::Owned(out)
}

/// Cut `s` to at most `width` display columns, ending with `…` when something was cut.
///
/// Wide characters are never split; a width of 0 yields an empty string.
pub fn truncate(s: &str, width: usize) -> Cow<'_, str> {
    if s.width() <= width {
        return Cow::Borrowed(s);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let budget = width - 1; // room for the ellipsis
    let mut used = 0;
    let mut end = 0;
    for (i, c) in s.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    // String width can exceed the sum of char widths (e.g. emoji presentation selectors).
    while end > 0 && s[..end].width() > budget {
        end = s[..end].char_indices().next_back().map_or(0, |(i, _)| i);
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(&s[..end]);
    out.push('…');
    Cow::Owned(out)
}

/// [`redact()`] (the one redaction the log, export and clipboard use too), then [`sanitize`] and
/// [`truncate`]: the usual treatment of a backend string. The screen never shows a secret the
/// log would hide.
///
/// Only a prefix of an oversized input is looked at (see [`bounded`]), so a 1 MiB pod reason
/// costs no more to draw than a short one.
pub fn clean(s: &str, width: usize) -> String {
    let (s, cut) = bounded(s, width);
    let redacted = redact(s);
    let safe = sanitize(&redacted);
    if cut {
        truncate(&format!("{safe}…"), width).into_owned()
    } else {
        truncate(&safe, width).into_owned()
    }
}

/// A token longer than this is cut where it is, not dropped, by [`bounded`].
const TOKEN_MAX: usize = 256;

/// The prefix of `s` that [`clean`] works on, and whether it was cut: all of it up to
/// `16 * width` bytes (at least 1 KiB), else that many bytes, cut back to the last whitespace
/// within [`TOKEN_MAX`] bytes (so a partly seen word, which could be half a secret the
/// redaction would not recognise, is dropped). Longer tokens are cut as they are: their label
/// (`token:`, `password=`) or their end (`@host`) is what redaction keys on, and the label stays.
pub fn bounded(s: &str, width: usize) -> (&str, bool) {
    let limit = width.saturating_mul(16).max(1024);
    if s.len() <= limit {
        return (s, false);
    }
    let mut end = limit;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let floor = end.saturating_sub(TOKEN_MAX);
    if let Some((i, _)) =
        s[..end].char_indices().rev().take_while(|(i, _)| *i >= floor).find(|(_, c)| c.is_whitespace())
    {
        end = i;
    }
    (&s[..end], true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        let s = "postgresql-0 CrashLoopBackOff";
        assert!(matches!(sanitize(s), Cow::Borrowed(_)));
        assert_eq!(sanitize(s), s);
    }

    #[test]
    fn csi_sequence_is_made_visible() {
        assert_eq!(sanitize("a\u{1b}[2Jb"), "a␛[2Jb");
    }

    #[test]
    fn osc_title_and_clipboard_sequences_are_made_visible() {
        assert_eq!(sanitize("\u{1b}]0;pwned\u{7}"), "␛]0;pwned␇");
        assert_eq!(sanitize("\u{1b}]52;c;aGk=\u{1b}\\"), "␛]52;c;aGk=␛\\");
        assert_eq!(
            sanitize("\u{1b}]8;;http://x\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "␛]8;;http://x␛\\link␛]8;;␛\\"
        );
    }

    #[test]
    fn c1_controls_including_8bit_csi_are_escaped() {
        assert_eq!(sanitize("x\u{9b}2Jy"), "x<U+009B>2Jy");
        assert_eq!(sanitize("\u{80}\u{9f}"), "<U+0080><U+009F>");
    }

    #[test]
    fn tab_newline_cr_del_are_handled() {
        assert_eq!(sanitize("a\tb"), "a b");
        assert_eq!(sanitize("a\nb\rc"), "a␊b␍c");
        assert_eq!(sanitize("a\u{7f}"), "a␡");
        assert_eq!(sanitize("\u{0}"), "␀");
    }

    #[test]
    fn bidi_overrides_and_isolates_are_escaped() {
        assert_eq!(sanitize("evil\u{202E}gnp.exe"), "evil<U+202E>gnp.exe");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "<U+2066>x<U+2069>");
        assert_eq!(sanitize("\u{202A}"), "<U+202A>");
    }

    #[test]
    fn non_ascii_printable_text_is_kept() {
        assert_eq!(sanitize("Größe ✓ 日本"), "Größe ✓ 日本");
    }

    #[test]
    fn truncate_by_display_width() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcdef", 1), "…");
        assert_eq!(truncate("abcdef", 0), "");
        // Wide characters count double and are never split.
        assert_eq!(truncate("日本語", 4), "日…");
        assert_eq!(truncate("日本語", 5), "日本…");
        assert_eq!(truncate("日本語", 6), "日本語");
    }

    #[test]
    fn passwords_in_dsns_and_urls_are_masked() {
        assert_eq!(
            redact("connect host=db port=5432 user=app password=hunter2 dbname=x failed"),
            "connect host=db port=5432 user=app password=*** dbname=x failed"
        );
        assert_eq!(redact("PASSWORD='s3 cr3t' host=a"), "PASSWORD=*** host=a");
        assert_eq!(redact("redis://default:hunter2@10.0.0.1:6379/0"), "redis://default:***@10.0.0.1:6379/0");
        assert_eq!(
            redact("postgres://u:p@h/db?sslmode=x&password=q"),
            "postgres://u:***@h/db?sslmode=x&password=***"
        );
        assert_eq!(redact("https://api.example.com/health"), "https://api.example.com/health");
        assert!(matches!(redact("no secrets here"), Cow::Borrowed(_)));
        assert_eq!(redact("mypassword=x"), "mypassword=***", "errs on the side of hiding");
        assert_eq!(clean("err: password=abc\u{1b}[2J", 80), "err: password=***");
        assert_eq!(clean("ERR AUTH hunter2", 80), "ERR AUTH ***");
        assert_eq!(
            clean("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY x", 80),
            "aws_secret_access_key=*** x"
        );
        assert_eq!(clean("token: eyJhbGciOiJSUzI1NiJ9.abc", 80), "token: ***");
        // One redaction: the screen's pass leaves prose alone (it once garbled the word after
        // "password:" in the configuration check's own advice).
        let advice = "`dsn` contains a password: remove it and put the password in PGPASSWORD";
        assert_eq!(clean(advice, 100), advice);
    }

    #[test]
    fn oversized_input_is_cut_before_redaction_at_a_token_boundary() {
        let big = format!("{} redis://:hunter2hunter2@h", "word ".repeat(300));
        // The cut falls inside the URL: the partial token is dropped, never shown half-redacted.
        let (cut, was_cut) = bounded(&big, 10);
        assert!(was_cut && cut.len() <= 1024, "{}", cut.len());
        assert!(!cut.contains("hunter") && !cut.contains("redis"));
        assert_eq!(bounded("short", 10), ("short", false));
        let huge = "x".repeat(1 << 20);
        assert_eq!(bounded(&huge, 100).0.len(), 1600);
        assert_eq!(clean(&huge, 5), "xxxx…");
        assert_eq!(clean(&"日".repeat(1 << 18), 5), "日日…");
        let labelled = format!("token: {}", "t".repeat(4096));
        assert_eq!(clean(&labelled, 20), "token: ***…");
    }

    proptest! {
        #[test]
        fn redact_never_panics_and_keeps_plain_text(s in "\\PC{0,60}") {
            let out = redact(&s);
            if !s.contains('=') && !s.contains("://") {
                prop_assert_eq!(out.as_ref(), s.as_str());
            }
        }

        #[test]
        fn sanitized_output_never_contains_a_control(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(is_unsafe), "unsafe char left in {:?}", out);
        }

        #[test]
        fn sanitized_output_of_control_heavy_input_is_safe(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\u{1b}[2J".to_string()),
                    Just("\u{1b}]52;c;aGk=\u{7}".to_string()),
                    Just("\u{9b}".to_string()),
                    Just("\u{202e}".to_string()),
                    Just("\u{2067}".to_string()),
                    "[a-z]{0,4}",
                    any::<char>().prop_map(String::from),
                ],
                0..20,
            )
        ) {
            let s = parts.concat();
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(is_unsafe));
            prop_assert!(!out.contains(char::from(0x1b_u8)), "ESC left in output");
        }

        #[test]
        fn truncate_never_exceeds_width(s in "\\PC{0,40}", w in 0usize..30) {
            let out = truncate(&s, w);
            prop_assert!(out.width() <= w);
            if s.width() <= w {
                prop_assert_eq!(out.as_ref(), s.as_str());
            } else if w > 0 {
                prop_assert!(out.ends_with('…'));
            }
        }
    }
}
