//! Personal data: detection with checksums where formats have them (Luhn for cards, mod-97 for
//! IBANs, SSA rules for SSNs), and redaction to `[KIND]` placeholders.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One piece of personal data found in a text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiMatch {
    /// `email`, `phone`, `card`, `iban`, `ssn`, `ni`, `address`.
    pub kind: String,
    /// Byte offset where it starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// The matched text.
    pub value: String,
}

/// The kinds detected, in detection order (earlier kinds win overlaps).
pub const PII_KINDS: [&str; 7] = ["email", "iban", "card", "ssn", "ni", "phone", "address"];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}\b").unwrap());
static IBAN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(?:[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}|[a-z]{2}\d{2}[a-z0-9]{11,30})\b").unwrap());
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").unwrap());
static SSN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{3})[- ](\d{2})[- ](\d{4})\b").unwrap());
static NI: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[A-CEGHJ-TW-Z][A-CEGHJ-NP-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b").unwrap());
static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:\+|\b00|\()?\d[\d .()\-]{5,}\d\b").unwrap());
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{1,5}[A-Za-z]?(?:\s+[A-Z][A-Za-z'-]*){1,4}\s+(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent|Square|Parkway|Pkwy|Highway|Hwy)\b\.?",
    )
    .unwrap()
});

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The Luhn checksum of card numbers.
pub(crate) fn luhn(number: &str) -> bool {
    let d = digits(number);
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let n = (b - b'0') as u32;
            if i % 2 == 1 { if n * 2 > 9 { n * 2 - 9 } else { n * 2 } } else { n }
        })
        .sum();
    sum % 10 == 0
}

/// The ISO 13616 mod-97 check of IBANs.
pub(crate) fn iban_ok(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let rearranged = format!("{}{}", &compact[4..], &compact[..4]);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

fn ssn_ok(area: &str, group: &str, serial: &str) -> bool {
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A phone number: 7-15 digits, not a date, a time, a price or a plain decimal.
fn phone_ok(text: &str, start: usize, m: &str) -> bool {
    let d = digits(m);
    if !(7..=15).contains(&d.len()) {
        return false;
    }
    let before = text[..start].chars().next_back();
    if matches!(before, Some('$' | '€' | '£' | '#' | '/' | '-')) || before.is_some_and(char::is_alphanumeric) {
        return false;
    }
    // Numbers right after these words are references, not phone numbers.
    let context: String = text[..start].chars().rev().take(24).collect::<String>().chars().rev().collect::<String>().to_lowercase();
    if ["iban", "tracking", "ticket", "order", "invoice", "ref", "account", "sku", " id", "ssn", "social security"].iter().any(|w| context.contains(w)) && !context.contains("phone") {
        return false;
    }
    // Dates: 2026-12-05, 12.05.2026.
    let parts: Vec<usize> = m.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).map(str::len).collect();
    if matches!(parts.as_slice(), [4, 1 | 2, 1 | 2] | [1 | 2, 1 | 2, 4] | [3, 2, 4]) {
        return false;
    }
    let has_sep = m.contains([' ', '-', '.', '(']) || m.starts_with('+');
    has_sep || d.len() >= 10
}

/// Every piece of personal data in `text`, earliest first; overlapping finds keep the first kind.
pub fn detect(text: &str) -> Vec<PiiMatch> {
    let mut found: Vec<PiiMatch> = Vec::new();
    let mut push = |kind: &str, start: usize, end: usize| {
        if found.iter().any(|f| start < f.end && f.start < end) {
            return;
        }
        found.push(PiiMatch { kind: kind.into(), start, end, value: text[start..end].to_string() });
    };
    for m in EMAIL.find_iter(text) {
        push("email", m.start(), m.end());
    }
    for m in IBAN.find_iter(text) {
        // The pattern may run into a following word ("... 0130 00 FOR"): drop trailing groups
        // until the checksum holds.
        let mut end = m.end();
        loop {
            let candidate = &text[m.start()..end];
            if iban_ok(candidate) {
                push("iban", m.start(), end);
                break;
            }
            match candidate.rfind(' ') {
                Some(i) if i > 4 => end = m.start() + i,
                _ => break,
            }
        }
    }
    for m in CARD.find_iter(text) {
        if luhn(m.as_str()) {
            push("card", m.start(), m.end());
        }
    }
    for c in SSN.captures_iter(text) {
        let m = c.get(0).unwrap();
        if ssn_ok(&c[1], &c[2], &c[3]) {
            push("ssn", m.start(), m.end());
        }
    }
    for m in NI.find_iter(text) {
        push("ni", m.start(), m.end());
    }
    for m in PHONE.find_iter(text) {
        let (mut s, e) = (m.start(), m.end());
        // A leading "(" belongs to the number only when it closes.
        if text[s..].starts_with('(') && !text[s..e].contains(')') {
            s += 1;
        }
        if phone_ok(text, s, &text[s..e]) {
            push("phone", s, e);
        }
    }
    for m in ADDRESS.find_iter(text) {
        push("address", m.start(), m.end());
    }
    found.sort_by_key(|f| f.start);
    found
}

/// `text` with every match of the given kinds replaced by `[KIND]`.
pub fn redact(text: &str, kinds: &[String]) -> (String, Vec<PiiMatch>) {
    let found: Vec<PiiMatch> = detect(text).into_iter().filter(|m| kinds.contains(&m.kind)).collect();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in &found {
        out.push_str(&text[last..m.start]);
        out.push_str(&format!("[{}]", m.kind.to_uppercase()));
        last = m.end;
    }
    out.push_str(&text[last..]);
    (out, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(t: &str) -> Vec<(String, String)> {
        detect(t).into_iter().map(|m| (m.kind, m.value)).collect()
    }

    #[test]
    fn finds_and_checks() {
        assert_eq!(kinds("mail me at Jane.Doe+party@mail.example.co.uk"), vec![("email".into(), "Jane.Doe+party@mail.example.co.uk".into())]);
        assert_eq!(kinds("card 4111 1111 1111 1111 thanks"), vec![("card".into(), "4111 1111 1111 1111".into())]);
        assert!(kinds("order 4111111111111112").iter().all(|(k, _)| k != "card"));
        assert_eq!(kinds("IBAN GB82 WEST 1234 5698 7654 32"), vec![("iban".into(), "GB82 WEST 1234 5698 7654 32".into())]);
        assert!(kinds("GB82WEST12345698765433").iter().all(|(k, _)| k != "iban"));
        assert_eq!(kinds("ssn 123-45-6789"), vec![("ssn".into(), "123-45-6789".into())]);
        assert!(kinds("ssn 666-45-6789").is_empty());
        assert_eq!(kinds("NI QQ 12 34 56 C"), vec![("ni".into(), "QQ 12 34 56 C".into())]);
        assert_eq!(kinds("call +44 20 7946 0958 or (503) 555-0101"), vec![("phone".into(), "+44 20 7946 0958".into()), ("phone".into(), "(503) 555-0101".into())]);
        assert_eq!(kinds("ship to 221B Baker Street please"), vec![("address".into(), "221B Baker Street".into())]);
        for benign in ["on 2026-12-05 at 19:00", "total $1,234.56", "SKU PS-BND-001", "room 101", "12/05/2026", "50% off"] {
            assert!(detect(benign).is_empty(), "{benign}: {:?}", detect(benign));
        }
        let (r, _) = redact("I'm jane@x.example, card 4111-1111-1111-1111", &["email".into(), "card".into()]);
        assert_eq!(r, "I'm [EMAIL], card [CARD]");
    }
}
