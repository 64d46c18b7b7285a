//! Phrasing tool results in the persona's voice. Every figure comes from a tool result.

use serde_json::Value;

use super::ComposeInput;
use crate::catalog::format_price;
use crate::tools::ToolOutcome;
use crate::tools::planner::{PlanNote, human_date};
use crate::tools::slots::Date;

/// The reply for a turn that ran tools or carries a planner note; `None` when neither applies.
pub(crate) fn reply(input: &ComposeInput<'_>) -> Option<(String, String)> {
    let mut parts: Vec<String> = Vec::new();
    let mut decision = String::from("tools");
    for o in input.tools {
        parts.push(phrase(input, o));
    }
    match input.note {
        Some(PlanNote::Ask { question }) => parts.push(question.clone()),
        Some(PlanNote::Confirm { summary }) => {
            let recommended = input.tools.iter().any(|o| o.name == "commerce.recommend_products" && o.is_ok());
            if !recommended {
                parts.push(format!("Shall I {summary}?"));
            }
        }
        Some(PlanNote::Cancelled { summary }) => {
            decision = "cancelled".into();
            parts.push(format!("No problem — I won't {summary}. Is there anything else I can help with?"));
        }
        None => {}
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        return None;
    }
    Some((parts.join(" "), decision))
}

fn money(input: &ComposeInput<'_>, v: &Value) -> String {
    format_price(v.as_f64().unwrap_or(0.0), input.currency)
}

fn people_word(message: &str) -> &'static str {
    let lower = message.to_lowercase();
    let has = |w: &str| crate::tools::planner::contains_phrase(&lower, w);
    if has("kids") || has("children") || has("kid") || has("girls") || has("boys") {
        "kids"
    } else if has("users") || has("seats") || has("team") || has("people") || has("adults") || has("friends") {
        "people"
    } else {
        "guests"
    }
}

fn day(v: &Value) -> String {
    v.as_str().and_then(Date::parse_iso).map(human_date).unwrap_or_else(|| v.as_str().unwrap_or("").to_string())
}

fn phrase(input: &ComposeInput<'_>, o: &ToolOutcome) -> String {
    let r = o.result.clone().unwrap_or(Value::Null);
    if !o.is_ok() {
        return match o.name.as_str() {
            "commerce.create_order" => format!("Sorry, I couldn't place that order: {}.", o.error.as_deref().unwrap_or("unknown error")),
            "lead.capture" => format!("Sorry, I couldn't save your details: {}.", o.error.as_deref().unwrap_or("unknown error")),
            _ => format!(
                "Sorry, I couldn't complete that just now. {}",
                if input.persona.escalation.is_empty() { input.persona.fallback.clone() } else { input.persona.escalation.clone() }
            ),
        };
    }
    match o.name.as_str() {
        "commerce.recommend_products" => {
            let recs = r["recommendations"].as_array().cloned().unwrap_or_default();
            let Some(top) = recs.first() else {
                return "I couldn't find anything in our catalog that fits that. Could you tell me a bit more — a theme, a budget or how many people?".into();
            };
            let name = top["name"].as_str().unwrap_or("");
            let qty = top["quantity"].as_u64().unwrap_or(1);
            let total = money(input, &top["line_total"]);
            let mut s = match r["guests"].as_u64() {
                Some(g) if qty > 1 => format!("Got it — for {g} {}, {qty}× the {name} covers it ({total}).", people_word(input.message)),
                Some(g) => format!("Got it — for {g} {}, the {name} covers it ({total}).", people_word(input.message)),
                None => format!("I'd suggest the {name} ({total})."),
            };
            if let Some(alt) = recs.get(1) {
                s.push_str(&format!(" Another good fit: the {} ({}).", alt["name"].as_str().unwrap_or(""), money(input, &alt["line_total"])));
            }
            if input.tools_allowed_order {
                s.push_str(" Want me to lock it in?");
            }
            s
        }
        "commerce.check_stock" => {
            let name = r["name"].as_str().unwrap_or("item");
            match r["stock"].as_i64() {
                Some(0) => format!("Sorry, the {name} is out of stock right now."),
                Some(n) => format!("Yes — the {name} is in stock ({n} available) at {}.", r["price_text"].as_str().unwrap_or("")),
                None => format!("Yes, the {name} is available at {}.", r["price_text"].as_str().unwrap_or("")),
            }
        }
        "commerce.create_order" => {
            let order = &r["order"];
            let lines: Vec<String> = order["lines"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| format!("{}× {}", l["quantity"], l["name"].as_str().unwrap_or("")))
                .collect();
            let total = format_price(order["total"].as_f64().unwrap_or(0.0), order["currency"].as_str().unwrap_or(input.currency));
            if r["created"] == Value::Bool(true) {
                format!("Done! Your order {} is confirmed: {} — total {total}.", order["order_id"].as_str().unwrap_or(""), lines.join(", "))
            } else {
                format!("That order is already placed: {} ({total}).", order["order_id"].as_str().unwrap_or(""))
            }
        }
        "booking.find_slots" => {
            let service = r["service"].as_str().unwrap_or("appointment");
            let date = day(&r["date"]);
            let slots: Vec<&str> = r["slots"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let wished_free = matches!(input.note, Some(PlanNote::Confirm { .. }));
            if wished_free {
                String::new()
            } else if slots.is_empty() {
                if r["open"] == Value::Bool(false) {
                    format!("Sorry, we're closed on {date}. Would another day work?")
                } else {
                    format!("Sorry, we have nothing free for the {service} on {date}. Would another day work?")
                }
            } else {
                format!("On {date} we have these times for the {service}: {}. Which time suits you?", slots.join(", "))
            }
        }
        "booking.book" => {
            if r["booked"] == Value::Bool(true) {
                let b = &r["booking"];
                let service = b["service"].as_str().unwrap_or("");
                let party = b["party_size"].as_u64().map(|n| format!(" for {n}")).filter(|f| !service.ends_with(f.as_str())).unwrap_or_default();
                format!(
                    "You're booked: {}{party} on {} at {}. Your reference is {}.",
                    b["service"].as_str().unwrap_or(""),
                    day(&b["date"]),
                    b["time"].as_str().unwrap_or(""),
                    b["booking_id"].as_str().unwrap_or("")
                )
            } else {
                let alts: Vec<&str> = r["alternatives"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                if alts.is_empty() {
                    format!("Sorry, {} on {} has just been taken and that day is now full. Would another day work?", r["time"].as_str().unwrap_or(""), day(&r["date"]))
                } else {
                    format!("Sorry, {} on {} has just been taken. I can offer {}. Which would you like?", r["time"].as_str().unwrap_or(""), day(&r["date"]), alts.join(", "))
                }
            }
        }
        "lead.capture" => {
            let name = r["name"].as_str().map(|n| format!(", {n}")).unwrap_or_default();
            let how = r["email"].as_str().or(r["phone"].as_str()).unwrap_or("");
            format!("Thanks{name}! I've passed your details to our team; they'll be in touch at {how}.")
        }
        "support.handoff" => {
            if input.persona.escalation.is_empty() {
                "I'm passing you to a member of our team now; they'll reply here shortly.".into()
            } else {
                input.persona.escalation.clone()
            }
        }
        "kb.search" => r["hits"]
            .get(0)
            .and_then(|h| h["text"].as_str())
            .map(|t| crate::text::sentences(t).into_iter().take(2).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| input.persona.fallback.clone()),
        // A host tool: its result's `reply` (or `message`) field when it has one.
        _ => r["reply"]
            .as_str()
            .or(r["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("Done ({}).", o.name)),
    }
}
