//! Per-persona guardrail policy, from the `[guardrails]` table of a persona's TOML.
//!
//! ```toml
//! [persona.guardrails]
//! injection = { enabled = true, threshold = 0.5, action = "block", reply = "..." }
//! pii = { action = "redact", kinds = ["card", "iban", "ssn", "ni", "email", "phone", "address"], allow_tools = ["lead.capture"] }
//! abuse = { action = "block" }
//! off_topic = { action = "block" }
//! flood = { max_messages = 8, window_seconds = 10 }
//! oversize = { max_chars = 2000 }
//! leakage = { enabled = true }
//! prohibited = { action = "block", reply = "..." }
//! grounding = { action = "repair" }     # repair | block (replace the reply with the fallback) | allow
//! ```
//! Every rail is on by default with the actions above.

use serde::{Deserialize, Serialize};

use crate::persona::Persona;

/// What a rail does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Record only.
    Allow,
    /// Replace the offending parts with placeholders.
    Redact,
    /// Answer with a canned reply instead.
    Block,
    /// Hand the conversation to a human.
    Escalate,
    /// Remove the offending sentences (output rails).
    Repair,
}

impl Action {
    /// The policy name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Block => "block",
            Action::Escalate => "escalate",
            Action::Repair => "repair",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "allow" => Action::Allow,
            "redact" => Action::Redact,
            "block" => Action::Block,
            "escalate" => Action::Escalate,
            "repair" => Action::Repair,
            _ => return None,
        })
    }
}

/// One rail's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RailPolicy {
    /// On or off.
    pub enabled: bool,
    /// What to do.
    pub action: Action,
    /// The canned reply when it blocks.
    pub reply: Option<String>,
}

/// All rails of a persona.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Prompt injection and jailbreaks.
    pub injection: RailPolicy,
    /// Score at or above which the injection rail fires.
    pub injection_threshold: f32,
    /// Personal data in the message.
    pub pii: RailPolicy,
    /// PII kinds the rail handles.
    pub pii_kinds: Vec<String>,
    /// Tools that receive contact details unredacted.
    pub pii_allow_tools: Vec<String>,
    /// Insults, profanity, threats.
    pub abuse: RailPolicy,
    /// Requests outside the business.
    pub off_topic: RailPolicy,
    /// Too many messages too fast.
    pub flood: RailPolicy,
    /// Messages per window that count as a flood.
    pub flood_max_messages: u32,
    /// The flood window.
    pub flood_window_secs: u32,
    /// Very long messages.
    pub oversize: RailPolicy,
    /// Longest message accepted, in characters.
    pub max_chars: usize,
    /// System prompt leakage in replies.
    pub leakage: RailPolicy,
    /// Personal data echoed in replies.
    pub pii_echo: RailPolicy,
    /// The persona's prohibited topics in replies.
    pub prohibited: RailPolicy,
    /// Facts in replies that nothing the turn read supports.
    pub grounding: RailPolicy,
}

fn rail(enabled: bool, action: Action) -> RailPolicy {
    RailPolicy { enabled, action, reply: None }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            injection: rail(true, Action::Block),
            injection_threshold: 0.5,
            pii: rail(true, Action::Redact),
            pii_kinds: super::PII_KINDS.iter().map(|s| s.to_string()).collect(),
            pii_allow_tools: vec!["lead.capture".into(), "booking.book".into()],
            abuse: rail(true, Action::Block),
            off_topic: rail(true, Action::Block),
            flood: rail(true, Action::Block),
            flood_max_messages: 8,
            flood_window_secs: 10,
            oversize: rail(true, Action::Block),
            max_chars: 2000,
            leakage: rail(true, Action::Block),
            pii_echo: rail(true, Action::Redact),
            prohibited: rail(true, Action::Block),
            grounding: rail(true, Action::Repair),
        }
    }
}

impl Policy {
    /// The persona's policy: defaults, overridden by its `guardrails` table. Unknown values keep
    /// the default (the persona loader reports them; a turn never fails on policy).
    pub fn of(persona: &Persona) -> Policy {
        let mut p = Policy::default();
        let Some(t) = &persona.guardrails else { return p };
        let get = |name: &str| t.get(name).and_then(|v| v.as_table());
        let apply = |r: &mut RailPolicy, name: &str| {
            if let Some(tab) = get(name) {
                if let Some(e) = tab.get("enabled").and_then(|v| v.as_bool()) {
                    r.enabled = e;
                }
                if let Some(a) = tab.get("action").and_then(|v| v.as_str()).and_then(Action::parse) {
                    r.action = a;
                }
                if let Some(reply) = tab.get("reply").and_then(|v| v.as_str()) {
                    r.reply = Some(reply.to_string());
                }
            }
        };
        apply(&mut p.injection, "injection");
        apply(&mut p.pii, "pii");
        apply(&mut p.abuse, "abuse");
        apply(&mut p.off_topic, "off_topic");
        apply(&mut p.flood, "flood");
        apply(&mut p.oversize, "oversize");
        apply(&mut p.leakage, "leakage");
        apply(&mut p.pii_echo, "pii_echo");
        apply(&mut p.prohibited, "prohibited");
        apply(&mut p.grounding, "grounding");
        if let Some(x) = get("injection").and_then(|t| t.get("threshold")).and_then(|v| v.as_float()) {
            p.injection_threshold = x as f32;
        }
        let strings = |v: &toml::Value| v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect::<Vec<_>>());
        if let Some(k) = get("pii").and_then(|t| t.get("kinds")).and_then(strings) {
            p.pii_kinds = k;
        }
        if let Some(k) = get("pii").and_then(|t| t.get("allow_tools")).and_then(strings) {
            p.pii_allow_tools = k;
        }
        if let Some(n) = get("flood").and_then(|t| t.get("max_messages")).and_then(|v| v.as_integer()) {
            p.flood_max_messages = n.max(1) as u32;
        }
        if let Some(n) = get("flood").and_then(|t| t.get("window_seconds")).and_then(|v| v.as_integer()) {
            p.flood_window_secs = n.max(1) as u32;
        }
        if let Some(n) = get("oversize").and_then(|t| t.get("max_chars")).and_then(|v| v.as_integer()) {
            p.max_chars = n.max(1) as usize;
        }
        p
    }
}
