//! Slot extraction for customer messages: head count, budget, date, time, age, email, phone and
//! name, pulled out of free text with a tiny word/number tokenizer (no regex, std only).
//!
//! The extractor is pure: the caller passes `today`, so relative dates are reproducible.
//! Email and phone are found on the raw text and blanked out first; the other slots run over
//! tokens in the order date → budget → age → time → count, and every match marks the number
//! tokens it consumed, so a later slot (notably `count`) never re-reads a price, date, age or time.
//! Count, budget and age only fire on a cue ("12 kids", "$200", "turning 7"): a bare number
//! is never guessed into a slot.
//!
//! Decisions worth knowing (details on the helpers):
//! - "next Saturday" is the Saturday of the next Monday-based week; a bare weekday is the upcoming
//!   one, today included; the most specific date in a message wins ("Saturday Dec 12" → Dec 12).
//! - "12/20" and "20/12" are both Dec 20: month/day (US) unless the first number exceeds 12.
//! - An hour without am/pm is pm if the message has an evening cue (tonight, evening, dinner, ...);
//!   else "at 1".."at 6" is pm and 7..11 stays am; "half past six" stays 06:30.
//! - Head counts joined by "and"/","/"plus" are summed ("8 adults and 4 kids" = 12).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

/// A civil (proleptic Gregorian) date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A validated date: month 1..=12 and a day that exists in that month (leap years honoured).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// Days since 1970-01-01; the inverse of [`Date::from_unix_days`].
    pub fn to_unix_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    /// Today's date in UTC, from the system clock.
    pub fn today_utc() -> Date {
        let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Date::from_unix_days((secs / 86_400) as i64)
    }

    pub fn add_days(self, n: i64) -> Date {
        Date::from_unix_days(self.to_unix_days() + n)
    }

    /// 0 = Monday ... 6 = Sunday.
    pub fn weekday(self) -> u32 {
        (self.to_unix_days() + 3).rem_euclid(7) as u32 // 1970-01-01 was a Thursday
    }

    pub fn weekday_key(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self.weekday() as usize]
    }

    /// Strict ISO `YYYY-MM-DD`.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if parts.len() != 3 || !digits(parts[0], 4) || !digits(parts[1], 2) || !digits(parts[2], 2) {
            return None;
        }
        Date::new(parts[0].parse().ok()?, parts[1].parse().ok()?, parts[2].parse().ok()?)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub amount: f64,
    /// "USD", "EUR" or "GBP" when a symbol or currency word was given.
    pub currency: Option<String>,
    /// An upper bound: "under / less than / at most / max / up to / no more than / budget".
    pub max: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Slots {
    pub count: Option<u32>,
    pub budget: Option<Budget>,
    pub date: Option<Date>,
    pub time: Option<(u32, u32)>,
    pub age: Option<u32>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
}

/// Extracts every slot it can find; `today` anchors relative dates.
pub fn extract(text: &str, today: Date) -> Slots {
    let mut work = text.to_string();
    let email = take_all(&mut work, next_email);
    let phone = take_all(&mut work, next_phone);
    let mut cx = Cx::new(&work, today);
    Slots {
        // The most specific date wins: "Saturday Dec 12" is Dec 12 even if that is not this Saturday.
        date: scan(&mut cx, date_at).into_iter().min_by_key(|(_, rank)| std::cmp::Reverse(*rank)).map(|(d, _)| d),
        budget: scan(&mut cx, budget_at).into_iter().next(),
        age: scan(&mut cx, age_at).into_iter().next(),
        time: scan(&mut cx, time_at).into_iter().next(),
        count: scan(&mut cx, count_at).into_iter().next(),
        name: find_name(&cx),
        email,
        phone,
    }
}

// ---- vocabulary ----------------------------------------------------------------------------

const NUMBER_WORDS: [&str; 20] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty",
];
const ORDINAL_WORDS: [&str; 20] = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth",
];
const MONTHS: [&str; 12] = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
];
const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const PEOPLE: &[&str] = &[
    "people", "person", "persons", "ppl", "pax", "guests", "guest", "kids", "kid", "children",
    "child", "adults", "adult", "friends", "friend", "attendees", "participants", "users",
    "seats", "players", "teens", "teenagers", "toddlers", "boys", "girls", "students", "members",
    "employees", "staff", "colleagues", "coworkers", "diners", "visitors", "babies", "seniors",
];
/// Words that make the number before them something other than a money amount or head count.
const UNITS: &[&str] = &[
    "am", "pm", "o'clock", "oclock", "minute", "minutes", "min", "mins", "hour", "hours", "hr",
    "hrs", "h", "day", "days", "week", "weeks", "month", "months", "year", "years", "yr", "yrs",
    "old", "yo", "%", "st", "nd", "rd", "th", "kg", "km", "cm", "lbs", ":", "/", "-",
];
const SUFFIXES: &[&str] = &["st", "nd", "rd", "th"];
const BIRTHDAY: &[&str] = &["birthday", "bday", "anniversary"];
const EVENING: &[&str] = &["tonight", "tonite", "evening", "dinner", "night", "afternoon", "supper", "pm"];
const MORNING: &[&str] = &["morning", "breakfast", "brunch"];
const NAME_STOP: &[&str] = &[
    "and", "or", "my", "our", "your", "email", "mail", "phone", "number", "mobile", "cell", "tel",
    "i", "i'm", "im", "me", "we", "is", "am", "are", "was", "the", "a", "an", "from", "at", "with",
    "here", "but", "so", "please", "thanks", "thank", "to", "for", "of", "on", "in", "looking",
    "interested", "planning", "calling", "writing", "hoping", "trying", "wondering", "need",
    "want", "would", "like", "just", "not", "also", "ok", "okay", "sorry", "glad", "happy", "new",
    "going", "booking", "organizing", "organising", "contact", "hi", "hello", "hey", "you", "it",
    "this", "that", "there", "call", "text", "can", "could", "will", "have", "has", "be", "by",
    "via", "very", "really", "good", "great", "fine",
];

fn word_num(w: &str) -> Option<u32> {
    NUMBER_WORDS.iter().position(|x| *x == w).map(|p| p as u32 + 1)
}

fn month_num(w: &str) -> Option<u32> {
    let w = if w == "sept" { "sep" } else { w };
    (w.len() >= 3).then(|| MONTHS.iter().position(|m| m.starts_with(w)))?.map(|p| p as u32 + 1)
}

/// Full weekday names plus the unambiguous abbreviations ("sat", "sun", "wed" are real words).
fn weekday_num(w: &str) -> Option<u32> {
    let abbr = ["mon", "tue", "tues", "thu", "thur", "thurs", "fri"];
    let full = WEEKDAYS.iter().position(|d| *d == w);
    full.or_else(|| abbr.contains(&w).then(|| WEEKDAYS.iter().position(|d| d.starts_with(w)))?)
        .map(|p| p as u32)
}

fn currency(w: &str) -> Option<&'static str> {
    match w {
        "$" | "usd" | "dollar" | "dollars" | "bucks" => Some("USD"),
        "€" | "eur" | "euro" | "euros" => Some("EUR"),
        "£" | "gbp" | "pound" | "pounds" | "quid" => Some("GBP"),
        _ => None,
    }
}

// ---- email and phone (raw text) ------------------------------------------------------------

/// A match in the raw text: its byte range and the normalized value.
type Found = Option<(Range<usize>, String)>;

/// Finds every match of `next` in `work`, blanks it out, and returns the first one.
fn take_all(work: &mut String, next: fn(&str, usize) -> Found) -> Option<String> {
    let mut first = None;
    let mut from = 0;
    while let Some((range, value)) = next(work, from) {
        first.get_or_insert(value);
        from = range.end;
        work.replace_range(range.clone(), &" ".repeat(range.len()));
    }
    first
}

fn next_email(s: &str, from: usize) -> Found {
    let b = s.as_bytes();
    let local = |c: &u8| c.is_ascii_alphanumeric() || b"._%+-".contains(c);
    let host = |c: &u8| c.is_ascii_alphanumeric() || b".-".contains(c);
    for at in (from..b.len()).filter(|&k| b[k] == b'@') {
        let mut start = at - b[from..at].iter().rev().take_while(|c| local(c)).count();
        start += b[start..at].iter().take_while(|c| **c == b'.').count();
        let mut end = at + 1 + b[at + 1..].iter().take_while(|c| host(c)).count();
        end -= b[at + 1..end].iter().rev().take_while(|c| b".-".contains(c)).count();
        let domain = &s[at + 1..end];
        let tld = domain.rsplit('.').next().unwrap_or("");
        let valid = domain.contains('.') && !domain.contains("..") && !domain.starts_with('.');
        if start < at && valid && tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()) {
            return Some((start..end, s[start..end].to_string()));
        }
    }
    None
}

/// A run of digit groups separated by spaces, dashes, dots or parentheses, 7..=15 digits in all.
/// Rejected: date-like runs (one 4-digit group and two of ≤ 2 digits) and runs with a one-digit
/// group after the first (lists of small numbers); a one-digit first group needs `+` or ≥ 10 digits.
fn next_phone(s: &str, from: usize) -> Found {
    let b = s.as_bytes();
    let mut k = from;
    while k < b.len() {
        let opener = matches!(b[k], b'+' | b'(') && b.get(k + 1).is_some_and(u8::is_ascii_digit);
        let prev_ok = k == 0 || b[k - 1].is_ascii_whitespace() || b"(:;\"'".contains(&b[k - 1]);
        if !(prev_ok && (opener || b[k].is_ascii_digit())) {
            k += 1;
            continue;
        }
        // Extend over digits and single/double separators, then cut back to the last digit.
        let (mut j, mut seps) = (k + 1, 0);
        while j < b.len() && (b[j].is_ascii_digit() || (b" -.()".contains(&b[j]) && seps < 2)) {
            seps = if b[j].is_ascii_digit() { 0 } else { seps + 1 };
            j += 1;
        }
        let run = s[k..j].trim_end_matches(|c: char| !c.is_ascii_digit());
        let groups: Vec<usize> = run.split(|c: char| !c.is_ascii_digit()).map(str::len).filter(|n| *n > 0).collect();
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        let plus = b[k] == b'+';
        let date_like = groups.len() == 3 && groups.contains(&4) && groups.iter().filter(|g| **g <= 2).count() == 2;
        let short_tail = groups.iter().skip(1).any(|g| *g < 2);
        let first_ok = groups.first().is_some_and(|g| *g >= 2) || plus || digits.len() >= 10;
        if (7..=15).contains(&digits.len()) && !date_like && !short_tail && first_ok {
            return Some((k..k + run.len(), if plus { format!("+{digits}") } else { digits }));
        }
        k = j;
    }
    None
}

// ---- tokens --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind { Word, Num, Sym }

#[derive(Debug)]
struct Tok {
    kind: Kind,
    /// Lowercased word, digits without thousands commas ("1200", "19.30"), or the symbol.
    text: String,
    orig: String,
    /// Whitespace before this token (true for the first token).
    gap: bool,
}

impl Tok {
    /// Tokens a slot "consumes": numbers, number words and ordinal words.
    fn numeric(&self) -> bool {
        let t = self.text.as_str();
        self.kind == Kind::Num || word_num(t).is_some() || ORDINAL_WORDS.contains(&t) || t == "dozen" || t == "couple"
    }
}

fn tokenize(s: &str) -> Vec<Tok> {
    let cs: Vec<char> = s.chars().map(|c| if c == '’' { '\'' } else { c }).collect();
    let (mut toks, mut i, mut gap) = (Vec::new(), 0, true);
    while i < cs.len() {
        if cs[i].is_whitespace() {
            (gap, i) = (true, i + 1);
            continue;
        }
        let start = i;
        let kind = if cs[i].is_alphabetic() {
            let inner_quote = |k: usize| cs[k] == '\'' && cs.get(k + 1).is_some_and(|c| c.is_alphabetic());
            while i < cs.len() && (cs[i].is_alphabetic() || (i > start && inner_quote(i))) {
                i += 1;
            }
            Kind::Word
        } else if cs[i].is_ascii_digit() {
            i = number_end(&cs, i);
            Kind::Num
        } else {
            i += 1;
            Kind::Sym
        };
        let orig: String = cs[start..i].iter().collect();
        let text = if kind == Kind::Num { orig.replace(',', "") } else { orig.to_lowercase() };
        toks.push(Tok { kind, text, orig, gap });
        gap = false;
    }
    toks
}

/// Digits, then ",ddd" thousands groups, then an optional ".d+" fraction.
fn number_end(cs: &[char], mut i: usize) -> usize {
    let digits = |i: usize| cs[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    i += digits(i);
    while i + 4 <= cs.len() && cs[i] == ',' && digits(i + 1) == 3 {
        i += 4;
    }
    if i + 1 < cs.len() && cs[i] == '.' && digits(i + 1) > 0 {
        i += 1 + digits(i + 1);
    }
    i
}

struct Cx {
    toks: Vec<Tok>,
    used: Vec<bool>,
    today: Date,
    evening: bool,
    morning: bool,
}

impl Cx {
    fn new(text: &str, today: Date) -> Cx {
        let toks = tokenize(text);
        let any = |set: &[&str]| toks.iter().any(|t| set.contains(&t.text.as_str()));
        let (evening, morning) = (any(EVENING), any(MORNING));
        Cx { used: vec![false; toks.len()], toks, today, evening, morning }
    }
    fn tok(&self, i: usize) -> Option<&Tok> {
        self.toks.get(i)
    }
    fn text(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.text.as_str())
    }
    fn is(&self, i: usize, words: &[&str]) -> bool {
        self.toks.get(i).is_some_and(|t| words.contains(&t.text.as_str()))
    }
    /// Token `i` exists and touches the previous one ("7pm", "12/12", "1.5k").
    fn attached(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| !t.gap)
    }
    fn free(&self, i: usize) -> bool {
        self.used.get(i).is_some_and(|u| !u)
    }
    /// The integer value of an unconsumed number token without a fraction.
    fn int(&self, i: usize) -> Option<u32> {
        let t = self.tok(i).filter(|t| t.kind == Kind::Num && self.free(i))?;
        t.text.parse().ok()
    }
    /// Something after a number that makes it not a money amount / head count ("2 hours").
    fn blocked(&self, j: usize) -> bool {
        let attached_sym = self.attached(j) && self.tok(j).is_some_and(|t| t.kind == Kind::Sym);
        self.is(j, UNITS) && (attached_sym || self.tok(j).is_some_and(|t| t.kind == Kind::Word))
            || PEOPLE.contains(&self.text(j))
            || self.is(j, &["of", "times"])
    }
}

/// Runs `find` at every token left to right and returns all matches in order; each match marks
/// its number tokens used, so later slots don't misread them.
fn scan<T>(cx: &mut Cx, find: fn(&Cx, usize) -> Option<(T, usize)>) -> Vec<T> {
    let (mut found, mut i) = (Vec::new(), 0);
    while i < cx.toks.len() {
        match find(cx, i) {
            Some((value, end)) if end > i && (i..end.min(cx.toks.len())).all(|k| !cx.toks[k].numeric() || !cx.used[k]) => {
                let end = end.min(cx.toks.len());
                for (tok, used) in cx.toks[i..end].iter().zip(&mut cx.used[i..end]) {
                    *used |= tok.numeric();
                }
                found.push(value);
                i = end;
            }
            _ => i += 1,
        }
    }
    found
}

/// A cardinal at `i`: digits, "one".."twenty", "(a) dozen", "(a) couple".
fn number_at(cx: &Cx, i: usize) -> Option<(u32, usize)> {
    if let Some(n) = cx.int(i).or_else(|| word_num(cx.text(i)).filter(|_| cx.free(i))) {
        return Some((n, i + 1));
    }
    let j = if cx.text(i) == "a" { i + 1 } else { i };
    let n = match cx.text(j) {
        "dozen" => 12,
        "couple" => 2,
        _ => return None,
    };
    cx.free(j).then_some((n, j + 1))
}

// ---- date ----------------------------------------------------------------------------------

/// A date and how specific it is: 2 = a calendar date, 1 = "the 5th", 0 = relative words.
fn date_at(cx: &Cx, i: usize) -> Option<((Date, u8), usize)> {
    let rank = |r: u8| move |(d, end)| ((d, r), end);
    (date_month_day(cx, i).or_else(|| date_day_month(cx, i)).or_else(|| date_numeric(cx, i)).map(rank(2)))
        .or_else(|| date_ordinal(cx, i).map(rank(1)))
        .or_else(|| date_word(cx, i).or_else(|| date_weekday(cx, i)).or_else(|| date_in(cx, i)).map(rank(0)))
}

fn date_word(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let t = cx.today;
    match cx.text(i) {
        "today" | "tonight" | "tonite" => Some((t, i + 1)),
        "tomorrow" | "tmrw" | "tmr" => Some((t.add_days(1), i + 1)),
        "day" if cx.text(i + 1) == "after" && cx.text(i + 2) == "tomorrow" => Some((t.add_days(2), i + 3)),
        _ => None,
    }
}

/// "Saturday" / "this Saturday" / "on Saturday": the upcoming one, today included.
/// "next Saturday": that weekday in the next calendar week (weeks start on Monday), so on Friday
/// 2026-12-04 "next Saturday" is 2026-12-12 and "next Monday" is 2026-12-07.
/// "(this) weekend" = the upcoming Saturday (today on a weekend); "next weekend" = next week's.
fn date_weekday(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let t = cx.today;
    let next = cx.text(i) == "next";
    let j = i + usize::from(next);
    let weekend = cx.text(j) == "weekend";
    let wd = if weekend { 5 } else { weekday_num(cx.text(j))? };
    let now = i64::from(t.weekday());
    let ahead = if next {
        7 - now + i64::from(wd)
    } else if weekend && now == 6 {
        0
    } else {
        (i64::from(wd) - now).rem_euclid(7)
    };
    Some((t.add_days(ahead), j + 1))
}

/// "in 3 days", "in two weeks", "in a week", "in a couple of days".
fn date_in(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    if cx.text(i) != "in" {
        return None;
    }
    let (n, j) = match (cx.text(i + 1), cx.text(i + 2)) {
        ("a", "day" | "week") => (1, i + 2),
        _ => number_at(cx, i + 1)?,
    };
    let j = if cx.text(j) == "of" { j + 1 } else { j };
    let per = match cx.text(j) {
        "day" | "days" => 1,
        "week" | "weeks" => 7,
        _ => return None,
    };
    Some((cx.today.add_days(i64::from(n) * per), j + 1))
}

fn month_at(cx: &Cx, i: usize) -> Option<(u32, usize)> {
    let m = month_num(cx.text(i))?;
    Some((m, if cx.text(i + 1) == "." && cx.attached(i + 1) { i + 2 } else { i + 1 }))
}

/// A day of the month: "12", "12th", "fifth". Returns (day, end).
fn day_at(cx: &Cx, i: usize) -> Option<(u32, usize)> {
    if let Some(p) = ORDINAL_WORDS.iter().position(|w| *w == cx.text(i)).filter(|_| cx.free(i)) {
        return Some((p as u32 + 1, i + 1));
    }
    let d = cx.int(i).filter(|d| (1..=31).contains(d) && cx.text(i).len() <= 2)?;
    let suffixed = cx.attached(i + 1) && cx.is(i + 1, SUFFIXES);
    Some((d, i + 1 + usize::from(suffixed)))
}

/// An optional ", 2027" after a day and month.
fn year_at(cx: &Cx, j: usize) -> (Option<i32>, usize) {
    let k = if cx.text(j) == "," { j + 1 } else { j };
    match cx.int(k).filter(|y| (1900..=2200).contains(y)) {
        Some(y) => (Some(y as i32), k + 1),
        None => (None, j),
    }
}

/// A date without a year is the next occurrence on or after `today`.
fn resolve(today: Date, year: Option<i32>, month: u32, day: u32) -> Option<Date> {
    match year {
        Some(y) => Date::new(y, month, day),
        None => (0..8).filter_map(|k| Date::new(today.year.saturating_add(k), month, day)).find(|d| *d >= today),
    }
}

/// "the 5th": this month if not yet past, else the next month that has that day.
fn resolve_day_of_month(today: Date, day: u32) -> Option<Date> {
    (0..13)
        .filter_map(|k| {
            let m0 = today.month.saturating_sub(1) + k;
            Date::new(today.year.saturating_add((m0 / 12) as i32), m0 % 12 + 1, day)
        })
        .find(|d| *d >= today)
}

/// "Dec 12", "December 12th", "Sept. 9th", "March 5, 2027".
fn date_month_day(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let (m, j) = month_at(cx, i)?;
    let (d, j) = day_at(cx, j + usize::from(cx.text(j) == "the"))?;
    let (y, j) = year_at(cx, j);
    Some((resolve(cx.today, y, m, d)?, j))
}

/// "12 December", "12th of December", "fifth of May 2027".
fn date_day_month(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let (d, j) = day_at(cx, i)?;
    let (m, j) = month_at(cx, j + usize::from(cx.text(j) == "of"))?;
    let (y, j) = year_at(cx, j);
    Some((resolve(cx.today, y, m, d)?, j))
}

/// "2026-12-20", "2026/12/20", and slashed "12/20", "20/12", "12/20/2026". Slashed dates are read
/// US-style month/day unless the first number cannot be a month (> 12), then day/month.
fn date_numeric(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let joined = |k: usize, sep: &str| cx.text(k) == sep && cx.attached(k) && cx.attached(k + 1);
    let a = cx.int(i)?;
    let sep = if joined(i + 1, "/") { "/" } else if joined(i + 1, "-") { "-" } else { return None };
    let b = cx.int(i + 2)?;
    if cx.text(i).len() == 4 {
        let d = cx.int(i + 4).filter(|_| joined(i + 3, sep))?;
        return Some((Date::new(a as i32, b, d)?, i + 5));
    }
    if sep != "/" || cx.text(i).len() > 2 || cx.text(i + 2).len() > 2 {
        return None;
    }
    let (m, d) = if a > 12 { (b, a) } else { (a, b) };
    let year = cx.int(i + 4).filter(|_| joined(i + 3, "/"));
    let (y, end) = match year {
        Some(y) => (Some(if y < 100 { 2000 + y as i32 } else { y as i32 }), i + 5),
        None => (None, i + 3),
    };
    Some((resolve(cx.today, y, m, d)?, end))
}

/// A bare "5th" / "the 5th" (not "5th birthday", "5th grade").
fn date_ordinal(cx: &Cx, i: usize) -> Option<(Date, usize)> {
    let d = cx.int(i).filter(|_| cx.text(i).len() <= 2 && cx.attached(i + 1) && cx.is(i + 1, SUFFIXES))?;
    if cx.is(i + 2, BIRTHDAY) || cx.is(i + 2, &["grade", "floor", "time", "year", "place"]) {
        return None;
    }
    Some((resolve_day_of_month(cx.today, d)?, i + 2))
}

// ---- budget --------------------------------------------------------------------------------

struct Money {
    amount: f64,
    currency: Option<&'static str>,
    /// A currency or a "k" suffix: money whatever the context.
    strong: bool,
    /// Written like a price (thousands comma, decimals, "k") or at least 100.
    priceish: bool,
    end: usize,
}

/// `[$€£|usd|eur|gbp] number [k] [dollars|euros|pounds|usd|€ ...]`.
fn money_at(cx: &Cx, i: usize) -> Option<Money> {
    let before = currency(cx.text(i)).filter(|_| cx.tok(i + 1).is_some_and(|t| t.kind == Kind::Num));
    let j = i + usize::from(before.is_some());
    let tok = cx.tok(j).filter(|t| t.kind == Kind::Num && cx.free(j))?;
    let mut amount: f64 = tok.text.parse().ok()?;
    let k = cx.attached(j + 1) && cx.text(j + 1) == "k";
    if k {
        amount *= 1000.0;
    }
    let mut end = j + 1 + usize::from(k);
    let after = before.is_none().then(|| currency(cx.text(end))).flatten();
    end += usize::from(after.is_some());
    let currency = before.or(after);
    let priceish = k || tok.orig.contains(',') || tok.orig.contains('.') || amount >= 100.0;
    Some(Money { amount, currency, strong: currency.is_some() || k, priceish, end })
}

/// "under", "below", "max", "maximum", "within", "budget", "up to", "at most", "less than",
/// "no more than" right before position `i` (symbols skipped).
fn max_cue_before(cx: &Cx, i: usize) -> bool {
    let words: Vec<&str> = cx.toks[..i].iter().rev().filter(|t| t.kind == Kind::Word).take(3).map(|t| t.text.as_str()).collect();
    let w = |k: usize| words.get(k).copied().unwrap_or("");
    matches!(w(0), "under" | "below" | "max" | "maximum" | "within" | "budget" | "upto")
        || (w(0) == "to" && w(1) == "up")
        || (w(0) == "most" && w(1) == "at")
        || (w(0) == "than" && (matches!(w(1), "less" | "lower") || (w(1) == "more" && matches!(w(2), "no" | "not"))))
}

/// Money needs a cue: a currency, a "k" suffix, a "budget"/"spend" lead-in, or a max cue in front
/// of a price-like amount ("up to 1,200", "under 150" — but not "up to 20 kids" / "under 12").
fn budget_at(cx: &Cx, i: usize) -> Option<(Budget, usize)> {
    let make = |m: &Money, max: bool| Budget { amount: m.amount, currency: m.currency.map(String::from), max };
    let lead = cx.text(i);
    if matches!(lead, "budget" | "budget's" | "spend" | "spending" | "afford") {
        let fillers = [
            "of", "is", "was", "will", "be", "about", "around", "roughly", "approximately", "approx",
            "max", "maximum", "up", "to", "under", "below", "at", "most", "less", "than", "no", "more",
            ":", "~", "=", "-",
        ];
        let mut j = i + 1;
        while j < i + 5 && cx.is(j, &fillers) {
            j += 1;
        }
        let m = money_at(cx, j)?;
        let max = lead.starts_with("budget") || max_cue_before(cx, j);
        return (m.strong || !cx.blocked(m.end)).then(|| (make(&m, max), m.end));
    }
    let m = money_at(cx, i)?;
    let max = max_cue_before(cx, i);
    (m.strong || (max && m.priceish && !cx.blocked(m.end))).then(|| (make(&m, max), m.end))
}

// ---- age -----------------------------------------------------------------------------------

/// After an age number: "year(s) old", "-year-old", "yo", "th birthday". Returns the end.
fn age_tail(cx: &Cx, j: usize) -> Option<usize> {
    if cx.is(j, &["yo"]) {
        return Some(j + 1);
    }
    if cx.attached(j) && cx.is(j, SUFFIXES) && cx.is(j + 1, BIRTHDAY) {
        return Some(j + 2);
    }
    let skip_dash = |k: usize| k + usize::from(cx.text(k) == "-");
    let k = skip_dash(j);
    if !cx.is(k, &["year", "years", "yr", "yrs"]) {
        return None;
    }
    let k = skip_dash(k + 1);
    cx.is(k, &["old", "olds"]).then_some(k + 1)
}

/// "Mia is 7", "my son is 7": the word before "is" must be a person.
fn is_subject(cx: &Cx, i: usize) -> bool {
    let persons = [
        "he", "she", "son", "daughter", "kid", "child", "boy", "girl", "niece", "nephew", "grandson",
        "granddaughter", "brother", "sister", "baby", "who",
    ];
    let not_names = ["it", "this", "that", "there", "what", "which", "here", "budget", "time", "date", "party", "total", "price"];
    let Some(p) = i.checked_sub(1).and_then(|j| cx.tok(j)) else { return false };
    let t = p.text.as_str();
    persons.contains(&t) || (p.kind == Kind::Word && p.orig.starts_with(char::is_uppercase) && !not_names.contains(&t))
}

fn age_at(cx: &Cx, i: usize) -> Option<(u32, usize)> {
    let w = cx.text(i);
    let (n, end) = if let Some(p) = ORDINAL_WORDS.iter().position(|o| *o == w).filter(|_| cx.free(i) && cx.is(i + 1, BIRTHDAY)) {
        (p as u32 + 1, i + 2)
    } else if matches!(w, "turning" | "turns" | "turn" | "age" | "aged" | "ages" | "he's" | "she's") || (w == "is" && is_subject(cx, i)) {
        let (n, j) = number_at(cx, i + 1 + usize::from(cx.text(i + 1) == ":"))?;
        // A range ("aged 5-7", "ages 5 to 8") gives its lower bound.
        let j = match number_at(cx, j + 1).filter(|_| cx.is(j, &["-", "to"])) {
            Some((_, end)) => end,
            None => j,
        };
        match age_tail(cx, j) {
            Some(end) => (n, end),
            None if cx.blocked(j) || cx.is(j, &["pm", "am", "tonight", "k"]) || currency(cx.text(j)).is_some() => return None,
            None => (n, j),
        }
    } else {
        let (n, j) = number_at(cx, i)?;
        (n, age_tail(cx, j)?)
    };
    (1..=120).contains(&n).then_some((n, end))
}

// ---- time ----------------------------------------------------------------------------------

/// "am"/"pm"/"a.m." (strong) or "tonight", "in the evening", "this morning", "at night" (weak).
/// Returns (pm, strong, end).
fn day_part(cx: &Cx, j: usize) -> Option<(bool, bool, usize)> {
    match cx.text(j) {
        "am" => return Some((false, true, j + 1)),
        "pm" => return Some((true, true, j + 1)),
        "a" | "p" if cx.text(j + 1) == "." && cx.text(j + 2) == "m" => {
            return Some((cx.text(j) == "p", true, j + 3 + usize::from(cx.text(j + 3) == ".")));
        }
        "tonight" | "tonite" => return Some((true, false, j + 1)),
        "in" | "this" | "at" => {}
        _ => return None,
    }
    let k = j + 1 + usize::from(cx.text(j + 1) == "the");
    match cx.text(k) {
        "evening" | "afternoon" | "night" => Some((true, false, k + 1)),
        "morning" => Some((false, false, k + 1)),
        _ => None,
    }
}

/// A clock hour with no am/pm next to it. An evening cue anywhere in the message (tonight,
/// evening, dinner, night, afternoon, pm) makes 1..=11 pm; a morning cue (morning, breakfast,
/// brunch) keeps it am. Otherwise, with `afternoon_default` ("at 7", "7 o'clock", "5:30"),
/// 1..=6 is read as pm and 7..=11 as given; "half past six" style times keep the hour as given.
fn guess_hour(cx: &Cx, h: u32, afternoon_default: bool) -> u32 {
    let pm = (1..=11).contains(&h) && !cx.morning && (cx.evening || (afternoon_default && h <= 6));
    if pm { h + 12 } else { h }
}

fn time_at(cx: &Cx, i: usize) -> Option<((u32, u32), usize)> {
    match cx.text(i) {
        "noon" | "midday" => Some(((12, 0), i + 1)),
        "midnight" => Some(((0, 0), i + 1)),
        "half" | "quarter" => time_past(cx, i),
        _ => time_clock(cx, i),
    }
}

/// "half past six", "quarter past 7", "quarter to 8 pm".
fn time_past(cx: &Cx, i: usize) -> Option<((u32, u32), usize)> {
    let min = match (cx.text(i), cx.text(i + 1)) {
        ("half", "past") => 30,
        ("quarter", "past") => 15,
        ("quarter", "to") => 45,
        _ => return None,
    };
    let (h, j) = number_at(cx, i + 2).filter(|(h, _)| (1..=12).contains(h))?;
    let h = if min == 45 { (h + 10) % 12 + 1 } else { h };
    Some(match day_part(cx, j) {
        Some((pm, _, end)) => ((h % 12 + if pm { 12 } else { 0 }, min), end),
        None => ((guess_hour(cx, h, false), min), j),
    })
}

/// "7pm", "7 pm", "7:30pm", "19:00", "19.30", "at 7", "7 o'clock", "7 tonight", "7 in the evening".
fn time_clock(cx: &Cx, i: usize) -> Option<((u32, u32), usize)> {
    let tok = cx.tok(i)?;
    let hour_text = tok.text.split('.').next().unwrap_or("");
    let (h, m, j, written) = if tok.kind == Kind::Num && tok.text.contains('.') {
        let (a, b) = tok.text.split_once('.')?;
        if b.len() != 2 || !cx.free(i) {
            return None;
        }
        (a.parse().ok()?, b.parse().ok()?, i + 1, Some(true))
    } else {
        let h = cx.int(i).or_else(|| word_num(&tok.text).filter(|_| cx.free(i)))?;
        let j = i + 1;
        let colon = tok.kind == Kind::Num && cx.text(j) == ":" && cx.attached(j) && cx.attached(j + 1) && cx.text(j + 1).len() == 2;
        match cx.int(j + 1).filter(|_| colon) {
            Some(m) => (h, m, j + 2, Some(false)),
            None => (h, 0, j, None),
        }
    };
    if h > 23 || m > 59 {
        return None;
    }
    let after_count_word = cx.is(i.wrapping_sub(1), &["for", "of", "are", "be", "we're", "party"]);
    if let Some((pm, _, end)) = day_part(cx, j).filter(|(_, strong, _)| *strong || !after_count_word) {
        return (1..=12).contains(&h).then_some(((h % 12 + if pm { 12 } else { 0 }, m), end));
    }
    if cx.is(j, &["o'clock", "oclock"]) {
        return (1..=12).contains(&h).then(|| ((guess_hour(cx, h, true), 0), j + 1));
    }
    let prep = cx.is(i.wrapping_sub(1), &["at", "@", "by", "until", "till", "til", "from", "between"]);
    let ok = match written {
        Some(false) => true,                         // 19:00
        Some(true) => prep || (hour_text.len() == 2 && m % 5 == 0), // 19.30 (not "2.50", "12.12")
        None => prep && !cx.blocked(j) && currency(cx.text(j)).is_none(),
    };
    let padded = hour_text.len() == 2 && hour_text.starts_with('0');
    ok.then(|| ((if padded { h } else { guess_hour(cx, h, true) }, m), j))
}

// ---- count ---------------------------------------------------------------------------------

/// "12 kids", "12 little kids", "a dozen friends", "5 of the kids".
fn noun_group(cx: &Cx, j: usize) -> Option<(u32, usize)> {
    let (n, k) = number_at(cx, j)?;
    let k = k + usize::from(cx.text(k) == "of" && cx.text(k + 1) != "us");
    if PEOPLE.contains(&cx.text(k)) {
        return Some((n, k + 1));
    }
    let adjective = cx.tok(k).is_some_and(|t| t.kind == Kind::Word) && !cx.is(k, &["and", "plus", "with"]);
    (adjective && PEOPLE.contains(&cx.text(k + 1))).then_some((n, k + 2))
}

/// Noun groups joined by and / plus / "," / & are summed: "8 adults and 4 kids" = 12.
fn people_sum(cx: &Cx, j: usize) -> Option<(u32, usize)> {
    let joiners = ["and", "plus", ",", "&", "+", "with"];
    let (mut total, mut end) = noun_group(cx, j)?;
    loop {
        let k = end + usize::from(cx.is(end, &joiners)) + usize::from(cx.is(end + 1, &joiners));
        match noun_group(cx, k).filter(|_| k > end) {
            Some((n, e)) => (total, end) = (total + n, e),
            None => return Some((total, end)),
        }
    }
}

/// After a bare "for N": only end of sentence or a word that clearly starts something else.
fn benign_after_for(cx: &Cx, j: usize) -> bool {
    match cx.tok(j) {
        None => true,
        Some(t) if t.kind == Kind::Sym => matches!(t.text.as_str(), "," | "." | "!" | "?" | ";" | ")"),
        Some(_) => cx.is(j, &[
            "on", "at", "this", "next", "tomorrow", "today", "tonight", "in", "and", "please", "pls",
            "by", "from", "with", "who", "but", "so", "around", "sometime",
        ]),
    }
}

fn count_at(cx: &Cx, i: usize) -> Option<(u32, usize)> {
    let group = ["party", "table", "group", "team", "booking", "reservation", "crew", "squad", "family"];
    let w = cx.text(i);
    let lead = match w {
        _ if group.contains(&w) && cx.is(i + 1, &["of", "for"]) => Some((i + 2, false)),
        "size" if cx.is(i.wrapping_sub(1), &["party", "group"]) => Some((i + 1, false)),
        "headcount" => Some((i + 1, false)),
        _ if PEOPLE.contains(&w) && cx.text(i + 1) == ":" => Some((i + 1, false)),
        "we" if cx.text(i + 1) == "are" => Some((i + 2, false)),
        "we" if cx.text(i + 1) == "will" && cx.text(i + 2) == "be" => Some((i + 3, false)),
        "we'll" | "there'll" if cx.text(i + 1) == "be" => Some((i + 2, false)),
        "we're" => Some((i + 1, false)),
        "for" => Some((i + 1, true)),
        _ => None,
    };
    if let Some((mut j, strict)) = lead {
        let approx = ["up", "to", "about", "around", "approximately", "roughly", "maybe", ":", "~"];
        while j < i + 5 && cx.is(j, &approx) {
            j += 1;
        }
        if let Some(found) = people_sum(cx, j) {
            return Some(found);
        }
        let (n, end) = number_at(cx, j)?;
        if cx.text(end) == "of" && cx.text(end + 1) == "us" {
            return Some((n, end + 2));
        }
        let ok = if strict { benign_after_for(cx, end) && n < 1000 } else { !cx.blocked(end) };
        return ok.then_some((n, end));
    }
    if let Some((n, end)) = number_at(cx, i).filter(|(_, e)| cx.text(*e) == "of" && cx.text(e + 1) == "us") {
        return Some((n, end + 2));
    }
    people_sum(cx, i)
}

// ---- name ----------------------------------------------------------------------------------

/// "jane" / "JANE" → "Jane"; mixed case ("McDonald", "O'Brien") is kept as written.
fn proper(w: &str) -> String {
    if w.chars().any(char::is_lowercase) && w.chars().any(char::is_uppercase) {
        return w.to_string();
    }
    let mut cs = w.chars();
    cs.next().map(|c| c.to_uppercase().chain(cs.flat_map(char::to_lowercase)).collect()).unwrap_or_default()
}

/// Up to three name words from `j`, stopping at punctuation, numbers and stop words. With
/// `need_caps` (after "I'm" / "this is" / "call me") every word must be capitalized as written;
/// after an explicit "name is" / "name:" a lowercase name is accepted too.
fn name_words(cx: &Cx, mut j: usize, mut need_caps: bool) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if cx.is(j, &["dr", "mr", "mrs", "ms", "miss", "prof"]) {
        j += 1 + usize::from(cx.text(j + 1) == "."); // titles are skipped
    }
    while parts.len() < 3 {
        let Some(t) = cx.tok(j).filter(|t| t.kind == Kind::Word) else { break };
        let text = t.text.as_str();
        let upper = t.orig.starts_with(char::is_uppercase);
        if NAME_STOP.contains(&text) || word_num(text).is_some() || weekday_num(text).is_some() || (need_caps && !upper) {
            break;
        }
        need_caps |= upper;
        let mut word = proper(&t.orig);
        let hyphen = cx.text(j + 1) == "-" && cx.attached(j + 1) && cx.attached(j + 2);
        if let Some(next) = cx.tok(j + 2).filter(|n| hyphen && n.kind == Kind::Word) {
            word = format!("{word}-{}", proper(&next.orig));
            j += 2;
        }
        parts.push(word);
        j += 1;
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn find_name(cx: &Cx) -> Option<String> {
    (0..cx.toks.len()).find_map(|i| {
        let (j, need_caps) = match cx.text(i) {
            "name" | "name's" if !cx.is(i.wrapping_sub(1), &["your", "whose", "what's", "the"]) => {
                let sep = cx.is(i + 1, &["is", ":", "-", "="]);
                if !sep && cx.text(i) == "name" {
                    return None;
                }
                (i + 1 + usize::from(sep), false)
            }
            "i'm" | "im" => (i + 1, true),
            "i" if cx.text(i + 1) == "am" => (i + 2, true),
            "this" if cx.text(i + 1) == "is" => (i + 2, true),
            "call" if cx.text(i + 1) == "me" => (i + 2, true),
            _ => return None,
        };
        name_words(cx, j, need_caps)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 12, 4).unwrap()
    }
    fn x(text: &str) -> Slots {
        extract(text, today())
    }
    fn ymd(y: i32, m: u32, d: u32) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn fixed_today_is_a_friday() {
        assert_eq!(today().weekday(), 4);
        assert_eq!(today().weekday_key(), "fri");
        assert_eq!(ymd(1970, 1, 1).weekday_key(), "thu");
    }

    #[test]
    fn unix_days_round_trip_1970_to_2100() {
        let (mut d, mut n) = (ymd(1970, 1, 1), 0);
        while d <= ymd(2100, 12, 31) {
            assert_eq!(d.to_unix_days(), n, "{d}");
            assert_eq!(Date::from_unix_days(n), d);
            assert_eq!(d.add_days(1).add_days(-1), d);
            let next = Date::new(d.year, d.month, d.day + 1)
                .or(Date::new(d.year, d.month + 1, 1))
                .unwrap_or(ymd(d.year + 1, 1, 1));
            assert_eq!(d.add_days(1), next, "{d}");
            (d, n) = (next, n + 1);
        }
        assert_eq!(n, 47_847); // 131 years, 32 leap days
    }

    #[test]
    fn leap_days_and_parsing() {
        assert!(Date::new(2024, 2, 29).is_some() && Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none() && Date::new(2100, 2, 29).is_none());
        assert!(Date::new(2026, 13, 1).is_none() && Date::new(2026, 4, 31).is_none() && Date::new(2026, 1, 0).is_none());
        assert_eq!(ymd(2024, 2, 28).add_days(1), ymd(2024, 2, 29));
        assert_eq!(ymd(2024, 2, 28).add_days(2), ymd(2024, 3, 1));
        assert_eq!(ymd(2000, 3, 1).to_unix_days(), 11_017);
        assert_eq!(Date::from_unix_days(-1), ymd(1969, 12, 31));
        assert_eq!(ymd(2026, 12, 5).to_string(), "2026-12-05");
        assert_eq!(Date::parse_iso("2026-12-12"), Some(ymd(2026, 12, 12)));
        for bad in ["2026-02-30", "2026-1-05", "26-12-12", "2026/12/12", "soon"] {
            assert_eq!(Date::parse_iso(bad), None, "{bad}");
        }
        assert!(Date::today_utc().year >= 2024);
    }

    #[test]
    fn counts() {
        let cases: &[(&str, u32)] = &[
            ("12 kids", 12), ("Party for 12 children", 12), ("party for twelve", 12),
            ("a party of 6", 6), ("Table for two, please", 2), ("for 4 people", 4), ("we are 5", 5),
            ("there will be 30 guests", 30), ("8 adults and 4 kids", 12), ("a dozen friends", 12),
            ("6 pax", 6), ("seats for 15 users", 15), ("team of 25", 25), ("3 of us", 3),
            ("a couple of friends", 2), ("table for 4 at 7pm", 4), ("Booking for 10 on Saturday", 10),
            ("we will be twenty", 20), ("there are 7 of us", 7), ("party size: 9", 9),
            ("12 little kids", 12), ("10 kids, 3 adults", 13), ("guests: 40", 40),
            ("reservation for up to 8", 8), ("for 2 adults plus 2 kids", 4), ("We're 6", 6),
            ("Birthday party for my son turning 7 with 15 kids", 15), ("table for 4 tonight", 4),
            ("party for 12 kids turning 7 on Dec 12 at 3pm, budget $200", 12), ("we're a family of 4", 4),
            ("We have a group of 8 adults, arriving at 6:45", 8), ("a table for one", 1),
        ];
        for (text, want) in cases {
            assert_eq!(x(text).count, Some(*want), "{text}");
        }
    }

    #[test]
    fn count_ignores_other_numbers() {
        let cases: &[&str] = &[
            "$200", "It costs $200", "at 7pm", "19:00 works", "on 12/12", "Dec 12", "the 5th",
            "she is turning 7", "a 7 year old", "my 7-year-old", "age 7", "call 503-555-0101",
            "+44 20 7946 0958", "60 minutes", "for 2 hours", "size 10", "in 2026", "under 150 euros",
            "half past six", "in 3 days", "12th birthday", "I'm 7",
        ];
        for text in cases {
            assert_eq!(x(text).count, None, "{text}");
        }
    }

    #[test]
    fn budgets() {
        let cases: &[(&str, f64, Option<&str>, bool)] = &[
            ("$200", 200.0, Some("USD"), false), ("under 150 euros", 150.0, Some("EUR"), true),
            ("less than €80", 80.0, Some("EUR"), true), ("budget of 300", 300.0, None, true),
            ("around $50", 50.0, Some("USD"), false), ("max 100 dollars", 100.0, Some("USD"), true),
            ("no more than £40", 40.0, Some("GBP"), true), ("up to 1,200", 1200.0, None, true),
            ("150 EUR", 150.0, Some("EUR"), false), ("1.5k", 1500.0, None, false),
            ("at most 250 usd", 250.0, Some("USD"), true), ("Our budget is $300", 300.0, Some("USD"), true),
            ("maximum 500 pounds", 500.0, Some("GBP"), true), ("below 75 bucks", 75.0, Some("USD"), true),
            ("$49.99 each", 49.99, Some("USD"), false), ("spend 2k", 2000.0, None, false),
            ("budget: €1,000", 1000.0, Some("EUR"), true), ("£25", 25.0, Some("GBP"), false),
            ("we can spend up to 400", 400.0, None, true),
        ];
        for (text, amount, currency, max) in cases {
            let want = Budget { amount: *amount, currency: currency.map(String::from), max: *max };
            assert_eq!(x(text).budget, Some(want), "{text}");
        }
        for text in ["12 kids", "up to 20 kids", "at 7pm", "for 2 hours", "under 12", "size 10", "in 2026"] {
            assert_eq!(x(text).budget, None, "{text}");
        }
    }

    #[test]
    fn dates() {
        let cases: &[(&str, Date)] = &[
            ("today", ymd(2026, 12, 4)), ("tonight", ymd(2026, 12, 4)), ("tomorrow", ymd(2026, 12, 5)),
            ("the day after tomorrow", ymd(2026, 12, 6)), ("Saturday", ymd(2026, 12, 5)),
            ("on friday", ymd(2026, 12, 4)), ("next Saturday", ymd(2026, 12, 12)),
            ("next friday", ymd(2026, 12, 11)), ("next monday", ymd(2026, 12, 7)),
            ("this weekend", ymd(2026, 12, 5)), ("next weekend", ymd(2026, 12, 12)),
            ("sunday", ymd(2026, 12, 6)), ("this Wednesday", ymd(2026, 12, 9)),
            ("in 3 days", ymd(2026, 12, 7)), ("in two weeks", ymd(2026, 12, 18)),
            ("in a week", ymd(2026, 12, 11)), ("in a couple of days", ymd(2026, 12, 6)),
            ("Dec 12", ymd(2026, 12, 12)), ("12 December", ymd(2026, 12, 12)),
            ("December 12th", ymd(2026, 12, 12)), ("the 5th", ymd(2026, 12, 5)),
            ("on the 3rd", ymd(2027, 1, 3)), ("the 4th", ymd(2026, 12, 4)), ("12/20", ymd(2026, 12, 20)),
            ("20/12", ymd(2026, 12, 20)), ("2026-12-20", ymd(2026, 12, 20)), ("Jan 3", ymd(2027, 1, 3)),
            ("Dec 1", ymd(2027, 12, 1)), ("the 12th of December", ymd(2026, 12, 12)),
            ("March 5, 2027", ymd(2027, 3, 5)), ("1/15", ymd(2027, 1, 15)),
            ("12/20/2026", ymd(2026, 12, 20)), ("Feb 29", ymd(2028, 2, 29)), ("sept. 9th", ymd(2027, 9, 9)),
            ("the fifth of January", ymd(2027, 1, 5)), ("Fri", ymd(2026, 12, 4)),
            ("on Saturday Dec. 12", ymd(2026, 12, 12)), ("tomorrow or the 20th", ymd(2026, 12, 20)),
        ];
        for (text, want) in cases {
            assert_eq!(x(text).date, Some(*want), "{text}");
        }
        for text in ["7th birthday", "12 kids", "$12", "at 7", "5th grade", "next week", "Feb 30"] {
            assert_eq!(x(text).date, None, "{text}");
        }
    }

    #[test]
    fn times() {
        let cases: &[(&str, (u32, u32))] = &[
            ("7pm", (19, 0)), ("7 pm", (19, 0)), ("7:30pm", (19, 30)), ("at 7", (7, 0)), ("at 19:00", (19, 0)),
            ("19.30", (19, 30)), ("noon", (12, 0)), ("midday", (12, 0)), ("midnight", (0, 0)),
            ("half past six", (6, 30)), ("half past six in the evening", (18, 30)), ("7 in the evening", (19, 0)),
            ("7 tonight", (19, 0)), ("at 3", (15, 0)), ("dinner at 7", (19, 0)), ("10am", (10, 0)),
            ("12pm", (12, 0)), ("12am", (0, 0)), ("quarter to 8 pm", (19, 45)), ("seven o'clock", (7, 0)),
            ("11:15 a.m.", (11, 15)), ("at 5:30", (17, 30)), ("07:30", (7, 30)), ("half past six pm", (18, 30)),
            ("tonight at 8", (20, 0)), ("at 3 in the morning", (3, 0)), ("at seven", (7, 0)),
            ("brunch at 11", (11, 0)), ("between 7 and 9pm", (19, 0)), ("can 5 of us come at 10.45?", (10, 45)),
        ];
        for (text, want) in cases {
            assert_eq!(x(text).time, Some(*want), "{text}");
        }
        for text in ["7 kids", "$7", "12/12", "Dec 7", "turning 7", "for 2 hours", "costs 2.50", "table for 4 tonight", "on 12.12"] {
            assert_eq!(x(text).time, None, "{text}");
        }
    }

    #[test]
    fn ages() {
        let cases: &[(&str, u32)] = &[
            ("turning 7", 7), ("7th birthday", 7), ("7 year old", 7), ("7-year-old", 7), ("age 7", 7),
            ("aged 7", 7), ("my son is 7", 7), ("she's 8", 8), ("Mia is 6", 6), ("turns ten", 10),
            ("her seventh birthday", 7), ("8 years old", 8), ("for a 9yo", 9), ("21st birthday", 21),
            ("30 kids aged 5-7", 5),
        ];
        for (text, want) in cases {
            assert_eq!(x(text).age, Some(*want), "{text}");
        }
        for text in ["12 kids", "it is 7pm", "the party is 7 December", "for 2 years", "12 kids at 7", "she is 5 dollars short"] {
            assert_eq!(x(text).age, None, "{text}");
        }
    }

    #[test]
    fn emails_and_phones() {
        let emails: &[(&str, &str)] = &[
            ("jane.doe@example.com", "jane.doe@example.com"),
            ("Email: SAM+party@mail.co.uk.", "SAM+party@mail.co.uk"),
            ("reach me at a_b@x.io, thanks", "a_b@x.io"),
        ];
        for (text, want) in emails {
            assert_eq!(x(text).email.as_deref(), Some(*want), "{text}");
        }
        for text in ["@home", "me@localhost", "foo@bar.", "a@b.c"] {
            assert_eq!(x(text).email, None, "{text}");
        }
        let phones: &[(&str, &str)] = &[
            ("+1 503 555 0101", "+15035550101"), ("+44 20 7946 0958", "+442079460958"),
            ("(503) 555-0101", "5035550101"), ("call 503-555-0101 please", "5035550101"),
            ("0151 496 0000", "01514960000"), ("tel: 503.555.0101 after 5", "5035550101"),
            ("+1 (503) 555-0101", "+15035550101"),
        ];
        for (text, want) in phones {
            assert_eq!(x(text).phone.as_deref(), Some(*want), "{text}");
        }
        for text in ["12 kids", "2026-12-20", "555 01", "Dec 12 2026 7pm", "$1,200,000", "2 3 4 5 6 7 8"] {
            assert_eq!(x(text).phone, None, "{text}");
        }
    }

    #[test]
    fn names() {
        let cases: &[(&str, &str)] = &[
            ("my name is Jane Doe", "Jane Doe"), ("I'm Sam", "Sam"), ("this is Priya", "Priya"),
            ("name: Alex Kim", "Alex Kim"), ("my name is jane doe and my email is j@d.io", "Jane Doe"),
            ("Hi, I'm Sam, I need a table", "Sam"), ("This is Priya from Acme", "Priya"),
            ("I am Mary-Jane O'Brien", "Mary-Jane O'Brien"), ("call me Alex", "Alex"),
            ("MY NAME IS JOHN SMITH", "John Smith"), ("I’m Zoë", "Zoë"),
            ("Hello, this is Dr. Smith", "Smith"),
        ];
        for (text, want) in cases {
            assert_eq!(x(text).name.as_deref(), Some(*want), "{text}");
        }
        for text in ["I'm looking for a venue", "I'm interested", "I'm 7", "this is great", "What's your name?", "I am planning a party"] {
            assert_eq!(x(text).name, None, "{text}");
        }
    }

    #[test]
    fn whole_message() {
        let got = x("Hi, I'm Sam Lee. Party for 12 kids turning 7 next Saturday at 3pm, budget under $300. \
                     Email sam@lee.io or call (503) 555-0101.");
        let want = Slots {
            count: Some(12),
            budget: Some(Budget { amount: 300.0, currency: Some("USD".into()), max: true }),
            date: Some(ymd(2026, 12, 12)),
            time: Some((15, 0)),
            age: Some(7),
            email: Some("sam@lee.io".into()),
            phone: Some("5035550101".into()),
            name: Some("Sam Lee".into()),
        };
        assert_eq!(got, want);
        assert_eq!(x("hello there"), Slots::default());
    }
}
