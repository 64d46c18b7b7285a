//! Measuring the rails on labelled JSONL files.
//!
//! Lines with `label` (`injection`, `abuse`, `benign`) score the input rails per category;
//! lines with `pii` (`[{kind, value}]`) score detection per kind (a value counts as found when a
//! detected span of the same kind equals it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::persona::Persona;

/// Precision, recall and F1 of one category.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// True positives.
    pub tp: u32,
    /// False positives.
    pub fp: u32,
    /// False negatives.
    pub fn_: u32,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
}

impl Score {
    fn finish(mut self) -> Score {
        let p = if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 };
        let r = if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 };
        self.precision = p;
        self.recall = r;
        self.f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        self
    }
}

/// The evaluation of a file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Labelled messages read.
    pub messages: u32,
    /// Per category (`injection`, `abuse`).
    pub categories: BTreeMap<String, Score>,
    /// Benign messages any input rail blocked / benign messages.
    pub benign_false_positive_rate: f64,
    /// Benign messages.
    pub benign: u32,
    /// PII per kind, and `all`.
    pub pii: BTreeMap<String, Score>,
    /// Misclassified lines, for reading.
    pub misses: Vec<String>,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    label: Option<String>,
    pii: Option<Vec<Expected>>,
}

#[derive(Deserialize)]
struct Expected {
    kind: String,
    value: String,
}

/// Scores the rails on a JSONL text with the default policy.
///
/// # Errors
/// `BadRequest` naming the line that is not valid JSON of the expected shape.
pub fn evaluate(jsonl: &str) -> Result<Report> {
    let persona = Persona::from_toml_str("assistant_name = \"Eval\"\ngreeting = \"hi\"\nfallback = \"sorry\"").expect("valid persona");
    let mut report = Report::default();
    let mut cats: BTreeMap<String, Score> = BTreeMap::new();
    let mut pii: BTreeMap<String, Score> = BTreeMap::new();
    let mut benign_blocked = 0;
    for (n, line) in jsonl.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let l: Line = serde_json::from_str(line).map_err(|e| Error::bad_request(format!("line {}: {e}", n + 1)))?;
        if let Some(label) = &l.label {
            report.messages += 1;
            let c = super::check_input(&persona, &l.text, 0);
            let fired: Vec<&str> = c.decisions.iter().filter(|d| d.action != "allow" && d.rail != "pii").map(|d| d.rail.as_str()).collect();
            for cat in ["injection", "abuse"] {
                let s = cats.entry(cat.into()).or_default();
                let predicted = fired.contains(&cat);
                match (label == cat, predicted) {
                    (true, true) => s.tp += 1,
                    (false, true) => s.fp += 1,
                    (true, false) => s.fn_ += 1,
                    _ => {}
                }
                if (label == cat) != predicted && (label == cat || label == "benign") {
                    report.misses.push(format!("{label} → {fired:?}: {}", l.text));
                }
            }
            if label == "benign" {
                report.benign += 1;
                if !fired.is_empty() {
                    benign_blocked += 1;
                    if !fired.contains(&"injection") && !fired.contains(&"abuse") {
                        report.misses.push(format!("benign → {fired:?}: {}", l.text));
                    }
                }
            }
        }
        if let Some(expected) = &l.pii {
            let found = super::pii::detect(&l.text);
            for e in expected {
                let hit = found.iter().any(|f| f.kind == e.kind && f.value == e.value);
                for k in [e.kind.as_str(), "all"] {
                    let s = pii.entry(k.into()).or_default();
                    if hit { s.tp += 1 } else { s.fn_ += 1 }
                }
                if !hit {
                    report.misses.push(format!("pii {} missed {:?} in: {} (found {:?})", e.kind, e.value, l.text, found.iter().map(|f| (&f.kind, &f.value)).collect::<Vec<_>>()));
                }
            }
            for f in &found {
                if !expected.iter().any(|e| e.kind == f.kind && e.value == f.value) {
                    for k in [f.kind.as_str(), "all"] {
                        pii.entry(k.into()).or_default().fp += 1;
                    }
                    report.misses.push(format!("pii false {} {:?} in: {}", f.kind, f.value, l.text));
                }
            }
        }
    }
    report.categories = cats.into_iter().map(|(k, s)| (k, s.finish())).collect();
    report.pii = pii.into_iter().map(|(k, s)| (k, s.finish())).collect();
    report.benign_false_positive_rate = if report.benign == 0 { 0.0 } else { benign_blocked as f64 / report.benign as f64 };
    Ok(report)
}
