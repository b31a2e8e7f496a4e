//! The character classes the text validators are made of, and the regular expressions that say the
//! same thing to clients.
//!
//! Every validator of free text in this crate publishes a `pattern()`: the JSON Schema `pattern`
//! (ECMA-262 syntax, limited to what Python's `re` and Rust's `regex` read the same way: classes of
//! `\uXXXX` ranges, groups, bounded repetition; no look-around) that accepts exactly what the
//! validator accepts, lengths included where a regular expression can count them. The HTTP adapter
//! puts these patterns in its OpenAPI document, so a client generating requests from the schema —
//! schemathesis, or a form — is told the real rules; the tests of each validator check, over
//! random strings, that pattern and validator agree.

use std::fmt::Write;

use crate::ValidationError;

/// A set of characters, as sorted inclusive ranges.
#[derive(Clone, Copy, Debug)]
pub struct CharClass(&'static [(char, char)]);

impl CharClass {
    /// A class of the given sorted, inclusive, basic-plane ranges.
    pub const fn new(ranges: &'static [(char, char)]) -> Self {
        Self(ranges)
    }

    /// Whether `c` is in the class.
    pub fn contains(self, c: char) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    }

    /// A regex class of every character not in this one (`[\s\S]` when this one is empty).
    pub fn negated(self) -> String {
        if self.0.is_empty() {
            return "[\\s\\S]".to_owned();
        }
        format!("[^{}]", self.regex_ranges())
    }

    /// Like [`CharClass::regex_ranges`], leaving out the characters of `other`.
    pub fn regex_ranges_without(self, other: CharClass) -> String {
        let mut out = String::new();
        for &(lo, hi) in self.0 {
            // The run of kept characters so far; written out when a left-out one ends it.
            let mut run: Option<(char, char)> = None;
            for c in lo..=hi {
                run = match run {
                    Some((start, end)) if other.contains(c) => {
                        push_range(&mut out, start, end);
                        None
                    }
                    _ if other.contains(c) => None,
                    Some((start, _)) => Some((start, c)),
                    None => Some((c, c)),
                };
            }
            if let Some((start, end)) = run {
                push_range(&mut out, start, end);
            }
        }
        out
    }

    /// The ranges as the inside of a regex character class (`\u0030-\u0039\u005f…`), every
    /// character written as a `\uXXXX` escape so that no engine reads one as syntax.
    pub fn regex_ranges(self) -> String {
        let mut out = String::new();
        for &(lo, hi) in self.0 {
            push_range(&mut out, lo, hi);
        }
        out
    }
}

/// Writes `lo-hi` (or `lo` alone) as `\uXXXX` escapes.
fn push_range(out: &mut String, lo: char, hi: char) {
    debug_assert!(
        u32::from(hi) <= 0xFFFF,
        "the classes stay in the basic plane"
    );
    // Writing to a String cannot fail.
    let _ = write!(out, "\\u{:04x}", u32::from(lo));
    if hi != lo {
        let _ = write!(out, "-\\u{:04x}", u32::from(hi));
    }
}

/// No character at all.
pub const NOTHING: CharClass = CharClass(&[]);

/// Exactly the characters of [`char::is_whitespace`] (Unicode `White_Space`), which is what
/// [`str::trim`] removes.
pub const WHITE_SPACE: CharClass = CharClass(&[
    ('\u{9}', '\u{d}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
]);

/// Exactly the characters of [`char::is_control`] (Unicode `Cc`).
pub const CONTROL: CharClass = CharClass(&[('\u{0}', '\u{1f}'), ('\u{7f}', '\u{9f}')]);

/// The control characters refused in multi-line text: all of [`CONTROL`] but tab, line feed and
/// carriage return.
pub const CONTROL_BUT_LINE_BREAKS: CharClass = CharClass(&[
    ('\u{0}', '\u{8}'),
    ('\u{b}', '\u{c}'),
    ('\u{e}', '\u{1f}'),
    ('\u{7f}', '\u{9f}'),
]);

/// What a hashtag may be made of: ASCII letters, digits and `_`, and the letters of the Latin,
/// Greek, Cyrillic, Armenian, Hebrew, Arabic, Indic, South-East Asian and other alphabetic blocks
/// up to U+1FFF, kana, CJK ideographs and Hangul — no punctuation or symbol blocks, no emoji.
pub const HASHTAG: CharClass = CharClass(&[
    ('0', '9'),
    ('A', 'Z'),
    ('_', '_'),
    ('a', 'z'),
    ('\u{c0}', '\u{d6}'),
    ('\u{d8}', '\u{f6}'),
    ('\u{f8}', '\u{167f}'),
    ('\u{1681}', '\u{1fff}'),
    ('\u{3040}', '\u{30ff}'),
    ('\u{3400}', '\u{4dbf}'),
    ('\u{4e00}', '\u{9fff}'),
    ('\u{ac00}', '\u{d7af}'),
]);

/// The pattern of text that is trimmed of [`WHITE_SPACE`] and then must hold 1 to `max`
/// characters (`0` to `max` unless `required`), none of them in `refused`. `max` is at least 1.
pub fn trimmed_pattern(refused: CharClass, max: usize, required: bool) -> String {
    debug_assert!(max >= 1, "a trimmed text holds at least one character");
    let ws = WHITE_SPACE.regex_ranges();
    let edge = format!("[^{}{ws}]", refused.regex_ranges());
    let core = match max {
        0 | 1 => edge.clone(),
        _ => format!("{edge}(?:{}{{0,{}}}{edge})?", refused.negated(), max - 2),
    };
    let optional = if required { "" } else { "?" };
    format!("^[{ws}]*(?:{core}){optional}[{ws}]*$")
}

/// Longest label (an account's name or id, an API key's name), in characters.
pub const MAX_LABEL_CHARS: usize = 255;

/// Validates text that is trimmed and then holds at most `max` characters, none of them in
/// `refused`; `None` when it is blank ([`trimmed_pattern`] with `required` false).
///
/// # Errors
/// `field` is too long or has a refused character.
pub fn parse_trimmed(
    field: &'static str,
    text: &str,
    refused: CharClass,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    check_chars(field, text, refused, max)?;
    Ok(Some(text.to_owned()))
}

/// Like [`parse_trimmed`], but blank is an error ([`trimmed_pattern`] with `required`).
///
/// # Errors
/// `field` is blank, too long, or has a refused character.
pub fn parse_required(
    field: &'static str,
    text: &str,
    refused: CharClass,
    max: usize,
) -> Result<String, ValidationError> {
    parse_trimmed(field, text, refused, max)?
        .ok_or_else(|| ValidationError::new(field, "must not be blank"))
}

/// Checks that `text` has at most `max` characters and none of `refused` (the characters this
/// module's classes refuse are all control characters, and the message says so).
///
/// # Errors
/// `field` is too long or has a refused character.
pub fn check_chars(
    field: &'static str,
    text: &str,
    refused: CharClass,
    max: usize,
) -> Result<(), ValidationError> {
    if text.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(|c| refused.contains(c)) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Validates a one-line label: trimmed, then 1 to [`MAX_LABEL_CHARS`] characters, no control
/// character ([`label_pattern`]).
///
/// # Errors
/// `field` is blank, too long, or has a control character.
pub fn parse_label(field: &'static str, text: &str) -> Result<String, ValidationError> {
    parse_required(field, text, CONTROL, MAX_LABEL_CHARS)
}

/// Whether `label` is one dot-separated label of a host name: ASCII letters, digits and `-`, not
/// at either end, 1 to `max` characters ([`host_label_pattern`]).
pub fn is_host_label(label: &str, max: usize) -> bool {
    (1..=max).contains(&label.len())
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The pattern of one [`is_host_label`] (unanchored, for composing).
pub fn host_label_pattern(max: usize) -> String {
    format!("[0-9A-Za-z](?:[0-9A-Za-z-]{{0,{}}}[0-9A-Za-z])?", max - 2)
}

/// The pattern of [`parse_label`] with [`MAX_LABEL_CHARS`].
pub fn label_pattern() -> String {
    trimmed_pattern(CONTROL, MAX_LABEL_CHARS, true)
}

/// The pattern of text with no character of `refused` (its length is left to `maxLength`).
pub fn free_text_pattern(refused: CharClass) -> String {
    format!("^{}*$", refused.negated())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    fn every_char() -> impl Iterator<Item = char> {
        (0..=0x10_FFFF).filter_map(char::from_u32)
    }

    #[test]
    fn white_space_is_exactly_what_trim_removes() {
        for c in every_char() {
            assert_eq!(WHITE_SPACE.contains(c), c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn control_is_exactly_is_control() {
        for c in every_char() {
            assert_eq!(CONTROL.contains(c), c.is_control(), "{c:?}");
            assert_eq!(
                CONTROL_BUT_LINE_BREAKS.contains(c),
                c.is_control() && !matches!(c, '\t' | '\n' | '\r'),
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_class_less_another_leaves_out_exactly_the_others_characters() {
        assert_eq!(
            WHITE_SPACE.regex_ranges_without(CONTROL_BUT_LINE_BREAKS),
            "\\u0009-\\u000a\\u000d\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000"
        );
        assert_eq!(
            CONTROL.regex_ranges_without(NOTHING),
            CONTROL.regex_ranges()
        );
    }

    #[test]
    fn a_class_is_written_as_escaped_ranges() {
        assert_eq!(CONTROL.regex_ranges(), "\\u0000-\\u001f\\u007f-\\u009f");
    }

    /// Strings made to sit on the edges of the validators: white space, controls, line breaks,
    /// the punctuation of e-mail addresses and URLs, letters inside and outside the hashtag
    /// blocks, and plain ASCII.
    pub(crate) fn edgy_text(max_chars: usize) -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => proptest::char::range('A', 'Z'),
            2 => proptest::char::range('0', '9'),
            3 => prop::sample::select(vec![
                ' ', '\t', '\n', '\r', '\u{b}', '\u{0}', '\u{7f}', '\u{85}', '\u{a0}', '\u{1680}',
                '\u{2003}', '\u{3000}', '.', '-', '_', '#', '@', ':', '/', '?', '+', '"', '\\',
                '[', ',', ';', '(', 'é', 'ß', '東', '한', 'ж', '😀', '→', '€', '\u{feff}',
            ]),
            1 => any::<char>(),
        ];
        proptest::collection::vec(pieces, 0..=max_chars).prop_map(|cs| cs.into_iter().collect())
    }

    /// Asserts that `pattern` accepts `text` exactly when `valid` says so.
    pub(crate) fn agrees(pattern: &str, text: &str, valid: bool) -> Result<(), TestCaseError> {
        let matched = regex::Regex::new(pattern).unwrap().is_match(text);
        prop_assert_eq!(
            matched,
            valid,
            "pattern {} and validator disagree on {:?}",
            pattern,
            text
        );
        Ok(())
    }

    #[test]
    fn the_label_pattern_counts_to_the_label_limit() {
        for n in [MAX_LABEL_CHARS, MAX_LABEL_CHARS + 1] {
            let text = format!(" {} ", "x".repeat(n));
            agrees(&label_pattern(), &text, parse_label("f", &text).is_ok()).unwrap();
        }
    }

    fn trimmed(text: &str, refused: CharClass, max: usize, required: bool) -> bool {
        let t = text.trim();
        (!required || !t.is_empty())
            && t.chars().count() <= max
            && !t.chars().any(|c| refused.contains(c))
    }

    proptest! {
        #[test]
        fn the_trimmed_pattern_agrees_with_trimming_then_counting(text in edgy_text(8), max in 1usize..6, required: bool) {
            agrees(&trimmed_pattern(CONTROL, max, required), &text, trimmed(&text, CONTROL, max, required))?;
            agrees(&trimmed_pattern(NOTHING, max, required), &text, trimmed(&text, NOTHING, max, required))?;
            agrees(&trimmed_pattern(CONTROL, max, true), &text, parse_required("f", &text, CONTROL, max).is_ok())?;
            let optional = parse_trimmed("f", &text, CONTROL_BUT_LINE_BREAKS, max).is_ok();
            agrees(&trimmed_pattern(CONTROL_BUT_LINE_BREAKS, max, false), &text, optional)?;
        }

        #[test]
        fn the_free_text_pattern_refuses_exactly_the_refused_characters(text in edgy_text(12)) {
            let valid = !text.chars().any(|c| CONTROL_BUT_LINE_BREAKS.contains(c));
            agrees(&free_text_pattern(CONTROL_BUT_LINE_BREAKS), &text, valid)?;
        }
    }
}
