//! Output rails: what a reply may not contain.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::policy::{Action, Policy};
use super::{Decision, OutputCheck, pii};
use crate::catalog::CatalogItem;
use crate::persona::Persona;

/// What a turn read: a reply may state facts from these only.
#[derive(Clone, Debug, Default)]
pub struct OutputSources<'a> {
    /// Passages, history, the customer's message.
    pub texts: Vec<&'a str>,
    /// The tenant's catalog.
    pub catalog: &'a [CatalogItem],
    /// Tool results of the turn.
    pub tool_results: Vec<&'a Value>,
}

static PRICE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[$€£]\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:USD|EUR|GBP|CHF)\b").unwrap());
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bhttps?://[^\s)]+|\bwww\.[^\s)]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|co|example|shop|store|app)\b(?:/[^\s)]*)?").unwrap());
static DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{4}-\d{2}-\d{2}\b").unwrap());
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d[\d,]*(?:\.\d+)?").unwrap());
static DIAGNOSIS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:you (?:probably |likely |definitely |might |may )?(?:have|'ve got|got)|it(?:'s| is) (?:probably |likely |definitely )?(?:an? )?|sounds like (?:an? )?|that is (?:an? )?)(?:cavity|cavities|infection|abscess|gum disease|gingivitis|periodontitis|tooth decay|decay|cracked tooth|fracture|cancer|tumou?r|diabetes|cyst)\b").unwrap()
});
static DOSAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b\d+\s?(?:mg|milligrams?)\b|\btake (?:\d+ )?(?:ibuprofen|paracetamol|acetaminophen|aspirin|amoxicillin|antibiotics?|painkillers?)\b").unwrap());
static INVEST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(?:you should|i(?:'d| would)? recommend|good time to|great time to|best time to) (?:buy|sell|invest)|\bguaranteed (?:return|profit|appreciation)|\bwill (?:definitely )?(?:go up|appreciate|increase in value)\b").unwrap());
static LEGAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(?:you (?:can|should) sue|legally you (?:can|must)|you have a (?:strong )?(?:case|claim)|that(?:'s| is) illegal)\b").unwrap());

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '(' && *c != ')' && *c != '.').flat_map(char::to_lowercase).collect()
}

fn numbers_in(s: &str, out: &mut Vec<f64>) {
    for m in NUMBER.find_iter(s) {
        if let Ok(x) = m.as_str().replace(',', "").parse::<f64>() {
            out.push(x);
        }
    }
}

fn json_numbers(v: &Value, out: &mut Vec<f64>, texts: &mut String) {
    match v {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::String(s) => {
            numbers_in(s, out);
            texts.push_str(s);
            texts.push(' ');
        }
        Value::Array(a) => a.iter().for_each(|x| json_numbers(x, out, texts)),
        Value::Object(o) => o.values().for_each(|x| json_numbers(x, out, texts)),
        _ => {}
    }
}

pub(crate) fn check(persona: &Persona, policy: &Policy, reply: &str, sources: &OutputSources<'_>) -> OutputCheck {
    let mut decisions = Vec::new();
    let mut reply = reply.to_string();
    let fallback = persona.fallback.clone();

    // Leakage: 8 consecutive words of the private prompt sections (identity, behaviour,
    // knowledge boundaries) that no public source the turn read also contains. Business facts
    // are public and may be quoted.
    if policy.leakage.enabled {
        let private = format!("{} {} {}", persona.prompt.identity, persona.prompt.behaviour, persona.prompt.knowledge_boundaries).to_lowercase();
        let words: Vec<&str> = private.split_whitespace().collect();
        let lower = reply.to_lowercase();
        let public = sources.texts.join(" ").to_lowercase();
        let leaked = lower.contains("## identity")
            || lower.contains("## knowledge boundaries")
            || words.windows(8).map(|w| w.join(" ")).any(|g| lower.contains(&g) && !public.contains(&g));
        if leaked {
            decisions.push(Decision { rail: "leakage".into(), action: "block".into(), score: 1.0, detail: vec!["system prompt text in reply".into()] });
            return OutputCheck { decisions, reply: policy.leakage.reply.clone().unwrap_or(fallback) };
        }
    }

    // Prohibited topics: claims the persona must never make.
    if policy.prohibited.enabled && !persona.prohibited_topics.is_empty() {
        let topics = persona.prohibited_topics.join(" ").to_lowercase();
        let mut rules: Vec<(&str, &Regex)> = Vec::new();
        if topics.contains("diagnos") || topics.contains("medical") {
            rules.push(("diagnosis", &DIAGNOSIS));
        }
        if topics.contains("medication") || topics.contains("dosage") || topics.contains("medical") || topics.contains("prescri") {
            rules.push(("medication", &DOSAGE));
        }
        if topics.contains("invest") || topics.contains("financial") {
            rules.push(("investment advice", &INVEST));
        }
        if topics.contains("legal") {
            rules.push(("legal advice", &LEGAL));
        }
        // The business's own published text (a passage the turn read) is not a claim of ours.
        let public = sources.texts.join(" ");
        let claim = rules.iter().find_map(|(t, re)| re.find_iter(&reply).find(|m| !public.contains(m.as_str())).map(|m| (*t, m.as_str().to_string())));
        if let Some((topic, m)) = claim {
            let canned = policy.prohibited.reply.clone().unwrap_or_else(|| {
                format!("I'm not able to give {topic} here. {}", if persona.escalation.is_empty() { fallback.clone() } else { persona.escalation.clone() })
            });
            decisions.push(Decision { rail: "prohibited".into(), action: policy.prohibited.action.as_str().into(), score: 1.0, detail: vec![topic.into(), m] });
            if policy.prohibited.action != Action::Allow {
                return OutputCheck { decisions, reply: canned };
            }
        }
    }

    // Everything the turn read, flattened once.
    // Prices are grounded by their text in a passage, or by their value in the catalog or a
    // tool result (which hold numbers, not formatted prices).
    let mut blob = String::new();
    let mut nums: Vec<f64> = Vec::new();
    for t in &sources.texts {
        blob.push_str(t);
        blob.push(' ');
    }
    let persona_json = serde_json::to_value(persona).unwrap_or_default();
    json_numbers(&persona_json, &mut Vec::new(), &mut blob);
    for r in &sources.tool_results {
        json_numbers(r, &mut nums, &mut blob);
    }
    for i in sources.catalog {
        nums.push(i.price);
        blob.push_str(&i.name);
        blob.push(' ');
        blob.push_str(&i.description);
        blob.push(' ');
    }
    let squashed = squash(&blob);

    // Personal data the customer did not get from the business's own texts.
    if policy.pii_echo.enabled {
        let leaks: Vec<pii::PiiMatch> = pii::detect(&reply).into_iter().filter(|m| !squashed.contains(&squash(&m.value)) || sources.texts.first().is_some_and(|msg| msg.contains(&m.value))).collect();
        let leaks: Vec<pii::PiiMatch> = leaks.into_iter().filter(|m| !persona_json.to_string().contains(&m.value)).collect();
        if !leaks.is_empty() && policy.pii_echo.action != Action::Allow {
            let kinds: Vec<String> = leaks.iter().map(|m| m.kind.clone()).collect();
            let (redacted, _) = pii::redact(&reply, &kinds);
            decisions.push(Decision { rail: "pii_echo".into(), action: "redact".into(), score: leaks.len() as f32, detail: kinds });
            reply = redacted;
        }
    }

    // Grounding: prices, URLs, emails, phone numbers and dates must come from what was read.
    if policy.grounding.enabled {
        let mut ungrounded: Vec<String> = Vec::new();
        for c in PRICE.captures_iter(&reply) {
            let n = c.get(1).or(c.get(2)).map(|m| m.as_str().replace(',', "")).and_then(|s| s.parse::<f64>().ok());
            if let Some(x) = n {
                let whole = (x.fract() == 0.0).then(|| format!("{}", x as i64));
                let in_text = blob.contains(&format!("{x:.2}"))
                    || blob.contains(c[0].trim())
                    || whole.is_some_and(|w| {
                        ["$", "€", "£"].iter().any(|sym| {
                            let t = format!("{sym}{w}");
                            blob.match_indices(&t).any(|(i, _)| !blob[i + t.len()..].starts_with(|ch: char| ch.is_ascii_digit() || ch == ','))
                        })
                    });
                if !in_text && !nums.iter().any(|y| (x - y).abs() < 0.005) {
                    ungrounded.push(c[0].to_string());
                }
            }
        }
        for m in URL.find_iter(&reply).chain(DATE.find_iter(&reply)) {
            if !squashed.contains(&squash(m.as_str().trim_end_matches(['.', ',']))) {
                ungrounded.push(m.as_str().to_string());
            }
        }
        for m in pii::detect(&reply).into_iter().filter(|m| m.kind == "phone" || m.kind == "email") {
            if !squashed.contains(&squash(&m.value)) {
                ungrounded.push(m.value);
            }
        }
        if !ungrounded.is_empty() && policy.grounding.action != Action::Allow {
            let kept: Vec<String> = crate::text::sentences(&reply).into_iter().filter(|s| !ungrounded.iter().any(|u| s.contains(u.as_str()))).collect();
            let repaired = if policy.grounding.action == Action::Repair && !kept.is_empty() { kept.join(" ") } else { fallback.clone() };
            decisions.push(Decision {
                rail: "grounding".into(),
                action: if repaired == fallback { "block".into() } else { "repair".into() },
                score: ungrounded.len() as f32,
                detail: ungrounded,
            });
            reply = repaired;
        }
    }
    OutputCheck { decisions, reply }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn persona() -> Persona {
        Persona::from_toml_str(
            "assistant_name = \"Mia\"\ngreeting = \"hi\"\nfallback = \"Please call us.\"\nescalation = \"A dentist will call you.\"\nprohibited_topics = [\"diagnosis\", \"medication dosage\"]\n[prompt]\nidentity = \"You are Mia, the assistant of Maple Grove Dental, a family clinic in Portland.\"\n[facts]\nphone = \"+1 503 555 0199\"",
        )
        .unwrap()
    }

    #[test]
    fn replies_are_grounded_clean_and_within_bounds() {
        let p = persona();
        let kb = "A check-up costs $145.00. Book at www.maplegrove.example.";
        let src = OutputSources { texts: vec!["how much?", kb], ..Default::default() };
        let ok = check(&p, &Policy::default(), "A check-up costs $145.00. Call +1 503 555 0199.", &src);
        assert!(ok.decisions.is_empty(), "{:?}", ok.decisions);
        let fixed = check(&p, &Policy::default(), "A check-up costs $145.00. Whitening is $99.00 today only.", &src);
        assert_eq!(fixed.reply, "A check-up costs $145.00.");
        assert_eq!(fixed.decisions[0].rail, "grounding");
        let bad = check(&p, &Policy::default(), "It sounds like you have a cavity; take 400 mg ibuprofen.", &src);
        assert_eq!(bad.decisions[0].rail, "prohibited");
        assert!(bad.reply.contains("A dentist will call you."));
        let leak = check(&p, &Policy::default(), "Sure: You are Mia, the assistant of Maple Grove Dental, a family clinic in Portland.", &src);
        assert_eq!(leak.reply, "Please call us.");
        let echo = check(&p, &Policy::default(), "We'll charge card 4111 1111 1111 1111.", &OutputSources { texts: vec!["my card is 4111 1111 1111 1111"], ..Default::default() });
        assert!(echo.reply.contains("[CARD]"), "{}", echo.reply);
    }
}
