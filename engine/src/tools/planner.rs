//! The deterministic planner: intent recognition and slot filling over the message, the catalog
//! and the conversation's pending action. It decides which tools run this turn, what to ask when a
//! slot is missing, and which side-effecting action waits for the customer's "yes".
//!
//! [`Planner`] is the interface; a model-driven planner can sit beside [`RulePlanner`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::ToolOutcome;
use super::slots::{Date, Slots};
use crate::catalog::CatalogItem;

/// A side-effecting call (or a call still missing slots) carried to the next turn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingAction {
    /// Also the confirmation id: one confirmation, one order/booking.
    pub id: String,
    /// The tool to run.
    pub tool: String,
    /// Arguments gathered so far.
    pub args: Map<String, Value>,
    /// `confirm` (waiting for yes/no) or `slots` (waiting for `missing`).
    pub awaiting: String,
    /// Slots still needed.
    #[serde(default)]
    pub missing: Vec<String>,
    /// What will happen, for the confirmation question ("place an order for 1× Mystical Unicorn Bundle ($89.00)").
    pub summary: String,
    /// Turns left before an unanswered action lapses.
    pub turns_left: u8,
}

/// A tool call the planner wants.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCall {
    /// Tool name.
    pub tool: String,
    /// Arguments.
    pub args: Value,
    /// Whether the customer confirmed it (side effects need this).
    pub confirmed: bool,
}

/// What the composer should say besides tool results.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanNote {
    /// Ask for a missing slot.
    Ask {
        /// The question.
        question: String,
    },
    /// Ask the customer to confirm a pending action.
    Confirm {
        /// What will happen.
        summary: String,
    },
    /// The customer declined the pending action.
    Cancelled {
        /// What was not done.
        summary: String,
    },
}

/// The planner's decision for one turn.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Calls to run now, in order.
    pub calls: Vec<PlannedCall>,
    /// A note for the composer (a question, a confirmation, a cancellation).
    pub note: Option<PlanNote>,
    /// The pending action after this turn: `None` clears it.
    pub pending: Option<PendingAction>,
    /// The intent recognised (for traces and accuracy reports).
    pub intent: String,
}

/// What a planner sees.
pub struct PlanInput<'a> {
    /// The message.
    pub message: &'a str,
    /// Slots extracted from it.
    pub slots: &'a Slots,
    /// The tenant's catalog.
    pub catalog: &'a [CatalogItem],
    /// Tools the persona may call.
    pub allowed: &'a [String],
    /// Host tools: (name, trigger phrases, schema).
    pub host_tools: &'a [(String, Vec<String>, Value, bool)],
    /// The pending action of the conversation, if any.
    pub pending: Option<&'a PendingAction>,
    /// The analyzer.
    pub terms_of: &'a (dyn Fn(&str) -> Vec<String> + Sync),
    /// The tenant's currency.
    pub currency: &'a str,
    /// The catalog item the conversation last talked about ("is it in stock?").
    pub last_item: Option<&'a str>,
}

/// Chooses tools for a turn.
pub trait Planner: Send + Sync {
    /// Decide the calls of this turn.
    fn plan(&self, input: &PlanInput<'_>) -> Plan;
    /// After the calls ran: the action to propose next (e.g. an order after a recommendation).
    fn follow_up(&self, input: &PlanInput<'_>, plan: &Plan, outcomes: &[ToolOutcome]) -> (Option<PlanNote>, Option<PendingAction>);
}

/// Rules over cue phrases and slots. Deterministic: the same input, the same plan.
#[derive(Clone, Copy, Debug, Default)]
pub struct RulePlanner;

fn has_any(lower: &str, cues: &[&str]) -> bool {
    cues.iter().any(|c| contains_phrase(lower, c))
}

/// `phrase` as whole words in `hay`.
pub(crate) fn contains_phrase(hay: &str, phrase: &str) -> bool {
    hay.match_indices(phrase).any(|(i, _)| {
        let before = hay[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = hay[i + phrase.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

fn words(lower: &str) -> Vec<&str> {
    lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')).filter(|w| !w.is_empty()).collect()
}

const YES_FIRST: &[&str] = &["yes", "yeah", "yep", "yup", "sure", "ok", "okay", "absolutely", "definitely", "perfect", "confirm", "confirmed", "y", "great"];
const YES_PHRASES: &[&str] = &["lock it in", "go ahead", "please do", "sounds good", "do it", "book it", "that works", "let's do it", "go for it", "yes please", "place the order", "place it"];
const NO_FIRST: &[&str] = &["no", "nope", "nah", "cancel", "stop"];
const NO_PHRASES: &[&str] = &["not now", "never mind", "nevermind", "no thanks", "don't", "do not", "hold off", "forget it", "not yet", "changed my mind"];

/// A confirmation: starts with a yes-word or says a yes-phrase; a question is not a yes.
fn is_yes(lower: &str) -> bool {
    let w = words(lower);
    let first = w.first().copied().unwrap_or("");
    !is_no(lower) && (YES_FIRST.contains(&first) || (!lower.contains('?') && w.len() <= 8 && has_any(lower, YES_PHRASES)))
}

fn is_no(lower: &str) -> bool {
    let w = words(lower);
    let first = w.first().copied().unwrap_or("");
    NO_FIRST.contains(&first) || (w.len() <= 10 && has_any(lower, NO_PHRASES))
}

const HANDOFF: &[&str] = &[
    "human", "real person", "a person", "an agent", "live agent", "support agent", "actual person", "connect me with",
    "representative", "speak to someone",
    "talk to someone", "manager", "operator", "speak to a person", "talk to a person", "customer service rep",
    "someone from your team", "escalate",
];
const BOOKING: &[&str] = &[
    "book", "booking", "reserve", "reservation", "appointment", "table for", "schedule", "slot", "slots", "viewing",
];
const AVAILABILITY: &[&str] = &["available", "availability", "free", "openings", "any room", "space"];
const ASKING_TO: &[&str] = &[
    "i'd like", "i would like", "i want", "can i", "could i", "can you", "could you", "please", "let's",
    "i need", "we'd like", "we would like", "looking to", "want to", "like to", "get me", "is there", "do you have",
    "any", "we want", "we need", "i wanna", "book me", "book us", "reserve", "could we", "can we", "we'd",
    "shall we", "need to", "set up", "asap",
];
/// Questions about a booking policy ("what happens if I miss my appointment?") are FAQ, not bookings.
const POLICY: &[&str] = &[
    "cancel", "what happens", "how far ahead", "how far in advance", "notice", "deposit", "miss", "no-show",
    "no show", "late", "policy", "how long", "paperwork", "forms", "do i have to", "do i need", "if i", "rules",
    "refund", "reschedule fee",
];

fn wants_booking(lower: &str, s: &Slots, names_service: bool, names_listing: bool) -> bool {
    if has_any(lower, POLICY) || (has_any(lower, &["how much", "cost", "price"]) && s.date.is_none() && s.time.is_none()) {
        return false;
    }
    let dated = s.date.is_some() || s.time.is_some();
    // Typos and inflections of the booking verbs: "reservaton", "apointment", "booked".
    let stem_cue = words(lower).iter().any(|w| ["reserv", "appoint", "apoint", "book", "schedul"].iter().any(|p| w.starts_with(p)));
    let asking = has_any(lower, ASKING_TO) || lower.contains("please");
    (stem_cue || has_any(lower, BOOKING)) && (asking || lower.ends_with('?') || dated || s.count.is_some())
        || (has_any(lower, AVAILABILITY) && dated)
        || (names_service && (asking || dated))
        || (names_listing && has_any(lower, &["view", "viewing", "see", "tour", "visit", "look at", "come and see"]))
        || (dated && s.count.is_some())
}
const ORDER: &[&str] = &[
    "i'll take", "i will take", "ill take", "order", "buy", "purchase", "add to cart", "to my cart", "add the", "get me",
    "i want the", "i'd like the", "checkout", "sign me up", "subscribe", "upgrade to", "switch to", "downgrade to",
    "i'll get", "ill get", "i will get", "to our account",
];
const STOCK: &[&str] = &[
    "in stock", "stock", "available", "availability", "have any", "sold out", "left", "still have", "back in",
    "do you have the", "in size", "in a size",
];
const RECOMMEND: &[&str] = &[
    "looking for", "recommend", "suggest", "ideas", "what do you have for", "something for", "throwing", "party for",
    "supplies for", "options for", "which plan", "what plan", "best plan", "good for", "what should i get",
    "shopping for", "gift for", "outfit for", "fits", "what would you", "what do you have in", "go well with",
    "go with", "what should we get", "best option", "which one should",
];
const PARTY_NOUNS: &[&str] = &["kids", "children", "guests", "people", "birthday", "party", "team", "users", "seats", "friends", "adults", "girls", "boys"];
const LEAD: &[&str] = &["contact me", "call me", "email me", "get back to me", "reach me", "quote", "in touch", "callback", "call back", "text me"];

impl RulePlanner {
    fn allowed(&self, input: &PlanInput<'_>, tool: &str) -> bool {
        input.allowed.iter().any(|a| a == tool)
    }

    /// The catalog item the message names (most of its name's terms present, unique best).
    fn named_item<'a>(&self, input: &PlanInput<'a>, filter: impl Fn(&CatalogItem) -> bool) -> Option<&'a CatalogItem> {
        let msg: std::collections::HashSet<String> = (input.terms_of)(input.message).into_iter().collect();
        let mut best: Option<(f32, usize, &CatalogItem)> = None;
        let mut tie = false;
        for item in input.catalog.iter().filter(|i| filter(i)) {
            let name: Vec<String> = (input.terms_of)(&item.name);
            if name.is_empty() {
                continue;
            }
            let m = name.iter().filter(|t| msg.contains(*t)).count();
            let score = m as f32 / name.len() as f32;
            if m == 0 || score < 0.6 {
                continue;
            }
            match best {
                Some((s, bm, _)) if score < s || (score == s && m < bm) => {}
                Some((s, bm, _)) if score == s && m == bm => tie = true,
                _ => {
                    best = Some((score, m, item));
                    tie = false;
                }
            }
        }
        if tie { None } else { best.map(|b| b.2) }
    }

    fn theme(&self, input: &PlanInput<'_>) -> Option<String> {
        let msg: std::collections::HashSet<String> = (input.terms_of)(input.message).into_iter().collect();
        input
            .catalog
            .iter()
            .filter_map(|i| i.attributes.get("theme").map(|t| t.to_string().to_lowercase()))
            .find(|t| (input.terms_of)(t).iter().all(|x| msg.contains(x)) || (t == "dinosaur" && msg.contains("dino")))
    }

    fn recommend(&self, input: &PlanInput<'_>, lower: &str) -> Option<Plan> {
        if !self.allowed(input, "commerce.recommend_products") {
            return None;
        }
        if has_any(lower, POLICY) || has_any(lower, &["return", "refund", "exchange", "deliver", "shipping"]) {
            return None;
        }
        let theme = self.theme(input);
        let slots = input.slots;
        let cue = has_any(lower, RECOMMEND);
        let party = slots.count.is_some() && has_any(lower, PARTY_NOUNS);
        // "I need ..." counts when what is needed is something the catalog has.
        let needs_catalog_thing = (has_any(lower, &["need", "want", "after"]) || slots.budget.is_some()) && {
            let msg: std::collections::HashSet<String> = (input.terms_of)(input.message).into_iter().collect();
            input.catalog.iter().filter(|i| i.duration_minutes.is_none()).any(|i| {
                (input.terms_of)(&format!("{} {} {}", i.category, i.tags.join(" "), i.item_type)).iter().any(|t| msg.contains(t))
            })
        };
        if !(cue || party || needs_catalog_thing || (theme.is_some() && has_any(lower, &["party", "theme", "themed"]))) {
            return None;
        }
        let mut args = Map::new();
        args.insert("need".into(), json!(input.message.chars().take(500).collect::<String>()));
        if let Some(c) = slots.count {
            args.insert("guests".into(), json!(c));
        }
        if let Some(b) = &slots.budget {
            args.insert("budget".into(), json!(b.amount));
        }
        if let Some(t) = theme {
            args.insert("theme".into(), json!(t));
        }
        if let Some(a) = slots.age {
            args.insert("age".into(), json!(a));
        }
        Some(Plan {
            calls: vec![PlannedCall { tool: "commerce.recommend_products".into(), args: Value::Object(args), confirmed: false }],
            intent: "recommend".into(),
            ..Plan::default()
        })
    }

    fn order(&self, input: &PlanInput<'_>, lower: &str) -> Option<Plan> {
        if !self.allowed(input, "commerce.create_order") || !has_any(lower, ORDER) {
            return None;
        }
        let item = self.named_item(input, |i| i.stock.is_some_and(|s| s > 0) && i.duration_minutes.is_none())?;
        let qty = input.slots.count.filter(|c| *c <= 1000 && !has_any(lower, PARTY_NOUNS)).unwrap_or(1);
        let pending = order_pending(item, qty, input.currency);
        Some(Plan {
            note: Some(PlanNote::Confirm { summary: pending.summary.clone() }),
            pending: Some(pending),
            intent: "order".into(),
            ..Plan::default()
        })
    }

    fn stock(&self, input: &PlanInput<'_>, lower: &str) -> Option<Plan> {
        if !self.allowed(input, "commerce.check_stock") || !has_any(lower, STOCK) {
            return None;
        }
        // A named item, or "it" right after talking about one.
        let refers_back = ["it", "that", "this", "them", "those", "one"].iter().any(|p| contains_phrase(lower, p));
        let item = self.named_item(input, |i| i.stock.is_some()).or_else(|| {
            refers_back.then(|| input.last_item.and_then(|sku| input.catalog.iter().find(|i| i.sku == sku && i.stock.is_some()))).flatten()
        })?;
        Some(Plan {
            calls: vec![PlannedCall { tool: "commerce.check_stock".into(), args: json!({ "sku": item.sku }), confirmed: false }],
            intent: "stock".into(),
            ..Plan::default()
        })
    }

    fn lead(&self, input: &PlanInput<'_>, lower: &str) -> Option<Plan> {
        if !self.allowed(input, "lead.capture") {
            return None;
        }
        let s = input.slots;
        if !(has_any(lower, LEAD) || s.email.is_some() || s.phone.is_some()) {
            return None;
        }
        let mut args = Map::new();
        for (k, v) in [("name", s.name.clone()), ("email", s.email.clone()), ("phone", s.phone.clone()), ("event_date", s.date.map(|d| d.to_string()))] {
            if let Some(v) = v {
                args.insert(k.into(), json!(v));
            }
        }
        args.insert("notes".into(), json!(input.message.chars().take(2000).collect::<String>()));
        Some(self.lead_step(args))
    }

    fn lead_step(&self, mut args: Map<String, Value>) -> Plan {
        let id = new_id();
        if args.get("email").is_none() && args.get("phone").is_none() {
            return Plan {
                note: Some(PlanNote::Ask { question: "Happy to have the team get in touch. What's the best email address or phone number to reach you?".into() }),
                pending: Some(PendingAction { id, tool: "lead.capture".into(), args, awaiting: "slots".into(), missing: vec!["contact".into()], summary: String::new(), turns_left: 3 }),
                intent: "lead".into(),
                ..Plan::default()
            };
        }
        let who: Vec<String> = ["name", "email", "phone"].iter().filter_map(|k| args.get(*k).and_then(Value::as_str).map(str::to_string)).collect();
        let summary = format!("pass your details ({}) to our team so they can get in touch", who.join(", "));
        args.insert("confirmation_id".into(), json!(id));
        Plan {
            note: Some(PlanNote::Confirm { summary: summary.clone() }),
            pending: Some(PendingAction { id, tool: "lead.capture".into(), args, awaiting: "confirm".into(), missing: vec![], summary, turns_left: 3 }),
            intent: "lead".into(),
            ..Plan::default()
        }
    }

    fn booking(&self, input: &PlanInput<'_>, lower: &str, carried: Option<&PendingAction>) -> Option<Plan> {
        if !self.allowed(input, "booking.book") && !self.allowed(input, "booking.find_slots") {
            return None;
        }
        let s = input.slots;
        let in_flow = carried.is_some_and(|p| p.tool == "booking.book");
        let named_service = self.named_item(input, |i| i.duration_minutes.is_some());
        let named_listing = self.named_item(input, |i| i.item_type == "listing");
        if !in_flow && !wants_booking(lower, s, named_service.is_some(), named_listing.is_some()) {
            return None;
        }
        // "How much is it to book X?" asks a price, not for a booking.
        let price_question = has_any(lower, &["how much", "cost", "costs", "price", "prices", "fee", "charge"]);
        if !in_flow && price_question && s.date.is_none() && s.time.is_none() {
            return None;
        }
        // A named dish or product ("is the Branzino available tonight?") is not a booking.
        if !in_flow && named_listing.is_none() && self.named_item(input, |i| i.duration_minutes.is_none()).is_some() && named_service.is_none() {
            return None;
        }
        let mut args = carried.filter(|_| in_flow).map(|p| p.args.clone()).unwrap_or_default();
        let services: Vec<&CatalogItem> = input.catalog.iter().filter(|i| i.duration_minutes.is_some()).collect();
        if let Some(item) = named_service {
            args.insert("service".into(), json!(item.sku));
        } else if let Some(listing) = named_listing {
            // Seeing a listing is a viewing of it.
            if let Some(v) = services.iter().find(|i| i.name.to_lowercase().contains("viewing")) {
                args.insert("service".into(), json!(v.sku));
                args.insert("listing".into(), json!(listing.name));
            }
        } else if let Some(count) = s.count {
            // "a table for 5": the smallest service that seats the party.
            let fit = services
                .iter()
                .filter_map(|i| super::builtins::capacity(i).map(|c| (c, *i)))
                .filter(|(c, _)| *c >= count)
                .filter(|(_, i)| !args.contains_key("service") || (input.terms_of)(&i.name).iter().any(|t| (input.terms_of)(input.message).contains(t)))
                .min_by_key(|(c, _)| *c);
            if let Some((_, i)) = fit {
                args.insert("service".into(), json!(i.sku));
            }
        }
        if let Some(c) = s.count {
            args.insert("party_size".into(), json!(c));
        }
        if let Some(d) = s.date {
            args.insert("date".into(), json!(d.to_string()));
        }
        if let Some((h, m)) = s.time {
            args.insert("time".into(), json!(format!("{h:02}:{m:02}")));
        }
        if let Some(n) = &s.name {
            args.insert("name".into(), json!(n));
        }
        Some(self.booking_step(input, args, carried.map(|p| p.id.clone())))
    }

    fn booking_step(&self, input: &PlanInput<'_>, args: Map<String, Value>, id: Option<String>) -> Plan {
        let id = id.unwrap_or_else(new_id);
        let pending = |missing: &str, args: Map<String, Value>| PendingAction {
            id: id.clone(),
            tool: "booking.book".into(),
            args,
            awaiting: "slots".into(),
            missing: vec![missing.into()],
            summary: String::new(),
            turns_left: 4,
        };
        let Some(service) = args.get("service").and_then(Value::as_str).map(str::to_string) else {
            let names: Vec<&str> = input.catalog.iter().filter(|i| i.duration_minutes.is_some()).map(|i| i.name.as_str()).take(4).collect();
            return Plan {
                note: Some(PlanNote::Ask { question: format!("Happy to book that for you. Which would you like: {}?", names.join(", ")) }),
                pending: Some(pending("service", args)),
                intent: "booking".into(),
                ..Plan::default()
            };
        };
        let name = input.catalog.iter().find(|i| i.sku == service).map(|i| i.name.clone()).unwrap_or(service.clone());
        if !args.contains_key("date") {
            return Plan {
                note: Some(PlanNote::Ask { question: format!("Great, the {name}. Which day would you like?") }),
                pending: Some(pending("date", args)),
                intent: "booking".into(),
                ..Plan::default()
            };
        }
        // With a date, look at the free times (the wished time first); follow_up decides.
        let mut find = Map::new();
        for k in ["service", "date", "time", "party_size"] {
            if let Some(v) = args.get(k) {
                find.insert(k.into(), v.clone());
            }
        }
        let missing = if args.contains_key("time") { "confirm" } else { "time" };
        Plan {
            calls: vec![PlannedCall { tool: "booking.find_slots".into(), args: Value::Object(find), confirmed: false }],
            pending: Some(pending(missing, args)),
            intent: "booking".into(),
            ..Plan::default()
        }
    }

    fn host_tool(&self, input: &PlanInput<'_>, lower: &str) -> Option<Plan> {
        for (name, triggers, schema, side_effect) in input.host_tools {
            if !self.allowed(input, name) || !triggers.iter().any(|t| lower.contains(t.as_str())) {
                continue;
            }
            let mut args = Map::new();
            let s = input.slots;
            let props = schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            for (prop, spec) in &props {
                let ty = spec.get("type").and_then(Value::as_str).unwrap_or("string");
                let v = match prop.as_str() {
                    "message" | "query" | "text" => Some(json!(input.message)),
                    "guests" | "party_size" | "count" | "quantity" | "people" | "seats" => s.count.map(|c| json!(c)),
                    "date" => s.date.map(|d| json!(d.to_string())),
                    "time" => s.time.map(|(h, m)| json!(format!("{h:02}:{m:02}"))),
                    "email" => s.email.clone().map(Value::from),
                    "phone" => s.phone.clone().map(Value::from),
                    "name" => s.name.clone().map(Value::from),
                    "budget" => s.budget.as_ref().map(|b| json!(b.amount)),
                    "age" => s.age.map(|a| json!(a)),
                    _ => None,
                };
                if let Some(v) = v.filter(|v| ty != "integer" || v.is_u64() || v.is_i64()) {
                    args.insert(prop.clone(), v);
                }
            }
            let confirmed = !side_effect;
            let call = PlannedCall { tool: name.clone(), args: Value::Object(args.clone()), confirmed };
            if *side_effect {
                let summary = format!("run {name}");
                return Some(Plan {
                    note: Some(PlanNote::Confirm { summary: summary.clone() }),
                    pending: Some(PendingAction { id: new_id(), tool: name.clone(), args, awaiting: "confirm".into(), missing: vec![], summary, turns_left: 3 }),
                    intent: name.clone(),
                    ..Plan::default()
                });
            }
            return Some(Plan { calls: vec![call], intent: name.clone(), ..Plan::default() });
        }
        None
    }
}

fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

fn order_pending(item: &CatalogItem, qty: u32, currency: &str) -> PendingAction {
    let id = new_id();
    let total = crate::catalog::format_price(item.price * qty as f64, currency);
    let summary = format!("place an order for {qty}× {} ({total})", item.name);
    let mut args = Map::new();
    args.insert("items".into(), json!([{ "sku": item.sku, "quantity": qty }]));
    args.insert("confirmation_id".into(), json!(id));
    PendingAction { id, tool: "commerce.create_order".into(), args, awaiting: "confirm".into(), missing: vec![], summary, turns_left: 3 }
}

impl Planner for RulePlanner {
    fn plan(&self, input: &PlanInput<'_>) -> Plan {
        let lower = input.message.to_lowercase();
        // 1. A pending action: yes runs it, no drops it, new details change it.
        if let Some(p) = input.pending {
            if p.awaiting == "confirm" {
                if is_no(&lower) {
                    return Plan { note: Some(PlanNote::Cancelled { summary: p.summary.clone() }), pending: None, intent: "cancel".into(), ..Plan::default() };
                }
                if is_yes(&lower) {
                    let mut args = p.args.clone();
                    args.entry("confirmation_id").or_insert(json!(p.id));
                    return Plan {
                        calls: vec![PlannedCall { tool: p.tool.clone(), args: Value::Object(args), confirmed: true }],
                        pending: None,
                        intent: "confirm".into(),
                        ..Plan::default()
                    };
                }
            }
            if p.awaiting == "slots" || (p.awaiting == "confirm" && p.tool == "booking.book") {
                if p.tool == "booking.book" {
                    let s = input.slots;
                    let new_detail = s.date.is_some() || s.time.is_some() || s.count.is_some() || self.named_item(input, |i| i.duration_minutes.is_some()).is_some();
                    if new_detail {
                        if let Some(plan) = self.booking(input, &lower, Some(p)) {
                            return plan;
                        }
                    }
                }
                if p.tool == "lead.capture" && (input.slots.email.is_some() || input.slots.phone.is_some()) {
                    let mut args = p.args.clone();
                    for (k, v) in [("email", input.slots.email.clone()), ("phone", input.slots.phone.clone()), ("name", input.slots.name.clone())] {
                        if let Some(v) = v {
                            args.insert(k.into(), json!(v));
                        }
                    }
                    return self.lead_step(args);
                }
            }
        }
        // 2. Fresh intents, most specific first.
        if self.allowed(input, "support.handoff") && has_any(&lower, HANDOFF) {
            return Plan {
                calls: vec![PlannedCall { tool: "support.handoff".into(), args: json!({ "reason": input.message.chars().take(500).collect::<String>() }), confirmed: true }],
                intent: "handoff".into(),
                ..Plan::default()
            };
        }
        let keep = || input.pending.filter(|p| p.turns_left > 1).map(|p| PendingAction { turns_left: p.turns_left - 1, ..p.clone() });
        let fresh = self
            .host_tool(input, &lower)
            .or_else(|| self.order(input, &lower))
            .or_else(|| self.stock(input, &lower))
            .or_else(|| if has_any(&lower, LEAD) { self.lead(input, &lower) } else { None })
            .or_else(|| self.booking(input, &lower, None))
            .or_else(|| self.recommend(input, &lower))
            .or_else(|| self.lead(input, &lower));
        match fresh {
            Some(plan) => plan,
            None => Plan { pending: keep(), intent: "none".into(), ..Plan::default() },
        }
    }

    fn follow_up(&self, input: &PlanInput<'_>, plan: &Plan, outcomes: &[ToolOutcome]) -> (Option<PlanNote>, Option<PendingAction>) {
        let mut pending = plan.pending.clone();
        let mut note = plan.note.clone();
        for o in outcomes.iter().filter(|o| o.is_ok()) {
            let r = o.result.as_ref().cloned().unwrap_or(Value::Null);
            match o.name.as_str() {
                // A recommendation proposes the order ("Want me to lock it in?").
                "commerce.recommend_products" if self.allowed(input, "commerce.create_order") => {
                    if let Some(top) = r["recommendations"].get(0) {
                        if let Some(item) = input.catalog.iter().find(|i| Some(i.sku.as_str()) == top["sku"].as_str()) {
                            let qty = top["quantity"].as_u64().unwrap_or(1) as u32;
                            pending = Some(order_pending(item, qty, input.currency));
                        }
                    }
                }
                // Free times: with a wished time that is free, ask to confirm; else ask to pick.
                "booking.find_slots" => {
                    if let Some(p) = pending.as_mut().filter(|p| p.tool == "booking.book") {
                        let wished = p.args.get("time").and_then(Value::as_str).map(str::to_string);
                        let free: Vec<String> = r["slots"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect();
                        match wished {
                            Some(t) if free.contains(&t) => {
                                let date = Date::parse_iso(p.args.get("date").and_then(Value::as_str).unwrap_or_default());
                                let day = date.map(human_date).unwrap_or_default();
                                let service = r["service"].as_str().unwrap_or("appointment");
                                let party = p
                                    .args
                                    .get("party_size")
                                    .and_then(Value::as_u64)
                                    .map(|n| format!(" for {n}"))
                                    .filter(|f| !service.ends_with(f.as_str()))
                                    .unwrap_or_default();
                                p.summary = format!("book the {service}{party} on {day} at {t}");
                                p.awaiting = "confirm".into();
                                p.missing.clear();
                                p.args.insert("confirmation_id".into(), json!(p.id));
                                note = Some(PlanNote::Confirm { summary: p.summary.clone() });
                            }
                            _ => {
                                p.args.remove("time");
                                p.awaiting = "slots".into();
                                p.missing = vec!["time".into()];
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        (note, pending)
    }
}

/// "Saturday 12 December".
pub(crate) fn human_date(d: Date) -> String {
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    format!("{} {} {}", DAYS[d.weekday() as usize % 7], d.day, MONTHS[(d.month as usize).clamp(1, 12) - 1])
}

#[cfg(test)]
mod eval {
    //! The planner against a labelled set of customer messages across all verticals
    //! (`tests/fixtures/planner_set.toml`): right intent, right slots. Prints the misses.

    use super::*;
    use crate::marketplace::VerticalPack;
    use crate::tools::slots::extract;

    #[derive(Deserialize)]
    struct Set {
        case: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        vertical: String,
        message: String,
        intent: String,
        guests: Option<u32>,
        budget: Option<f64>,
        theme: Option<String>,
        item: Option<String>,
        service: Option<String>,
        date: Option<String>,
        time: Option<String>,
        email: Option<String>,
        phone: Option<String>,
    }

    #[test]
    fn labelled_messages_get_the_right_tool_and_slots() {
        let set: Set = toml::from_str(include_str!("../../tests/fixtures/planner_set.toml")).unwrap();
        let analyzer = crate::retrieval::Analyzer::new();
        let terms_of = |s: &str| analyzer.terms(s);
        let today = Date::new(2026, 12, 4).unwrap();
        let packs: std::collections::HashMap<String, VerticalPack> =
            crate::marketplace::builtin_keys().into_iter().map(|k| (k.to_string(), VerticalPack::builtin(k).unwrap())).collect();
        let (mut intent_ok, mut all_ok) = (0, 0);
        let mut misses = Vec::new();
        let started = std::time::Instant::now();
        for c in &set.case {
            let pack = &packs[&c.vertical];
            let slots = extract(&c.message, today);
            let input = PlanInput {
                message: &c.message,
                slots: &slots,
                catalog: &pack.catalog,
                allowed: &pack.persona.tools,
                host_tools: &[],
                pending: None,
                terms_of: &terms_of,
                currency: &pack.currency,
                last_item: None,
            };
            let plan = RulePlanner.plan(&input);
            let name_of = |sku: Option<&str>| pack.catalog.iter().find(|i| Some(i.sku.as_str()) == sku).map(|i| i.name.clone());
            let args: Map<String, Value> = plan
                .calls
                .first()
                .and_then(|c| c.args.as_object().cloned())
                .or_else(|| plan.pending.as_ref().map(|p| p.args.clone()))
                .unwrap_or_default();
            let item = args.get("items").and_then(|v| v.get(0)).and_then(|i| i["sku"].as_str()).or(args.get("sku").and_then(Value::as_str));
            let mut wrong: Vec<String> = Vec::new();
            let mut check = |field: &str, want: Option<String>, got: Option<String>| {
                if let Some(w) = want {
                    if Some(&w) != got.as_ref() {
                        wrong.push(format!("{field}: want {w:?}, got {got:?}"));
                    }
                }
            };
            check("guests", c.guests.map(|g| g.to_string()), slots.count.map(|g| g.to_string()));
            check("budget", c.budget.map(|b| format!("{b:.2}")), slots.budget.as_ref().map(|b| format!("{:.2}", b.amount)));
            check("date", c.date.clone(), slots.date.map(|d| d.to_string()));
            check("time", c.time.clone(), slots.time.map(|(h, m)| format!("{h:02}:{m:02}")));
            check("email", c.email.clone(), slots.email.clone());
            check("phone", c.phone.clone(), slots.phone.clone());
            if c.intent == plan.intent {
                check("theme", c.theme.clone(), args.get("theme").and_then(Value::as_str).map(str::to_string));
                check("item", c.item.clone(), name_of(item));
                check("service", c.service.clone(), name_of(args.get("service").and_then(Value::as_str)));
            }
            let right_intent = c.intent == plan.intent;
            intent_ok += right_intent as usize;
            if right_intent && wrong.is_empty() {
                all_ok += 1;
            } else {
                misses.push(format!("[{}] {:?}: intent want {} got {}; {}", c.vertical, c.message, c.intent, plan.intent, wrong.join("; ")));
            }
        }
        let n = set.case.len();
        let per_plan = started.elapsed().as_micros() as f64 / n as f64;
        println!("planner: {n} labelled messages; right tool {intent_ok}/{n} ({:.1}%); right tool and slots {all_ok}/{n} ({:.1}%); {per_plan:.0} µs per message (slot extraction + plan, debug build)",
            100.0 * intent_ok as f64 / n as f64, 100.0 * all_ok as f64 / n as f64);
        for m in &misses {
            println!("  {m}");
        }
        assert!(n >= 150);
        assert!(intent_ok as f64 / n as f64 >= 0.90, "right tool {intent_ok}/{n}");
        assert!(all_ok as f64 / n as f64 >= 0.85, "right tool and slots {all_ok}/{n}");
    }
}
