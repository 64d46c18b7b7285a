//! The model-free composer: answers in the persona's voice from what retrieval found, quoting
//! passages, business facts and catalog entries as written. It never states a price, time or
//! policy that it did not read.

use std::collections::HashSet;

use super::{ComposeInput, Composer, Composition, ConversationState};
use crate::catalog::{CatalogItem, format_price};
use crate::error::Result;
use crate::retrieval::Hit;
use crate::text::{count_tokens, sentences};

/// Passages considered for an answer.
const CANDIDATES: usize = 5;
/// Most sentences quoted from one passage.
const MAX_SENTENCES: usize = 3;

/// The default composer: no model, grounded replies only.
#[derive(Clone, Copy, Debug, Default)]
pub struct GroundedComposer;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Intent {
    Price,
    Stock,
    Duration,
    General,
}

enum CatalogMatch<'a> {
    One(&'a CatalogItem),
    Many(Vec<&'a CatalogItem>),
    None,
}

impl Composer for GroundedComposer {
    fn name(&self) -> &str {
        "grounded"
    }

    fn compose(&self, input: &ComposeInput<'_>) -> Result<Composition> {
        let words = words(input.message);
        let read = count_tokens(input.message) + input.history.iter().map(|m| count_tokens(&m.text)).sum::<u32>();
        let persona = input.persona;

        if is_greeting(&words, &persona.assistant_name) {
            return Ok(done(persona.greeting.clone(), "greeting", vec![], read, input.state.clone()));
        }
        if let Some(reply) = smalltalk(&words, &persona.business_name) {
            return Ok(done(reply, "smalltalk", vec![], read, input.state.clone()));
        }

        let intent = intent_of(&input.message.to_lowercase());
        let q: Vec<String> = dedup(input.message_terms);
        let catalog = match_catalog(input, &q, intent);
        let best = best_passage(input, &q);
        let mut state = ConversationState { last_terms: q.clone(), last_item: input.state.last_item.clone() };

        // A named catalog item with a price, stock or duration question: answer from the catalog.
        match (&catalog, intent) {
            (CatalogMatch::One(item), Intent::Price | Intent::Stock | Intent::Duration) => {
                return Ok(catalog_reply(input, item, intent, read, state));
            }
            (CatalogMatch::One(item), Intent::General) => {
                let passage_is_item = best.as_ref().is_some_and(|(h, _)| h.doc_id == format!("catalog:{}", item.sku));
                let passage_strong = best.as_ref().is_some_and(|(_, s)| s.strong);
                if passage_is_item || !passage_strong {
                    return Ok(catalog_reply(input, item, intent, read, state));
                }
            }
            (CatalogMatch::Many(items), Intent::Price | Intent::Stock | Intent::Duration) => {
                let text = options_reply(items, input.currency);
                let grounding = items.iter().map(|i| format!("catalog:{}", i.sku)).collect();
                return Ok(done(text, "catalog_options", grounding, read, state));
            }
            _ => {}
        }

        let Some((hit, support)) = best else {
            state.last_terms.clear();
            return Ok(done(persona.fallback.clone(), "fallback", vec![], read, state));
        };
        let read = read + count_tokens(&hit.text);
        if !support.strong {
            let titles: Vec<&str> = distinct_titles(input.hits, 2);
            let text = match titles.as_slice() {
                [a, b] => format!("Just to be sure I help with the right thing: is your question about {} or {}?", lower_first(a), lower_first(b)),
                [a] => format!("Just to be sure I help with the right thing: is your question about {}?", lower_first(a)),
                _ => persona.fallback.clone(),
            };
            return Ok(done(text, "clarify", vec![], read, state));
        }
        if hit.kind == "catalog" {
            let sku = hit.doc_id.trim_start_matches("catalog:");
            if let Some(item) = input.catalog.iter().find(|i| i.sku == sku) {
                return Ok(catalog_reply(input, item, intent, read, state));
            }
        }
        if hit.kind == "fact" {
            return Ok(done(hit.text.clone(), "fact", vec![hit.doc_id.clone()], read, state));
        }
        let text = quote_passage(input, &hit.text, &q, intent);
        Ok(done(text, "passage", vec![hit.doc_id.clone()], read, state))
    }
}

fn done(text: String, decision: &str, grounding: Vec<String>, read: u32, state: ConversationState) -> Composition {
    let tokens_out = count_tokens(&text);
    Composition { text, decision: decision.into(), grounding, tokens_in: read, tokens_out, state }
}

fn words(message: &str) -> Vec<String> {
    message
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn dedup(terms: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    terms.iter().filter(|t| seen.insert(t.as_str())).cloned().collect()
}

fn is_greeting(words: &[String], assistant: &str) -> bool {
    const GREETING: &[&str] = &[
        "hi", "hello", "hey", "hiya", "howdy", "yo", "greetings", "good", "morning", "afternoon", "evening", "there",
        "hallo", "hola", "heya", "everyone", "team",
    ];
    let name = assistant.to_lowercase();
    !words.is_empty()
        && words.len() <= 5
        && words.iter().any(|w| GREETING.contains(&w.as_str()) && w != "good" && w != "there")
        && words.iter().all(|w| GREETING.contains(&w.as_str()) || *w == name)
}

fn smalltalk(words: &[String], business: &str) -> Option<String> {
    if words.is_empty() || words.len() > 6 {
        return None;
    }
    let has = |w: &str| words.iter().any(|x| x == w);
    if has("thanks") || has("thank") || has("thx") || has("cheers") || has("ty") {
        return Some("You're welcome! Is there anything else I can help you with?".into());
    }
    if has("bye") || has("goodbye") || (has("see") && has("later")) {
        let who = if business.is_empty() { "us".to_string() } else { business.to_string() };
        return Some(format!("Thanks for chatting with {who}. Have a great day!"));
    }
    None
}

fn intent_of(lower: &str) -> Intent {
    let has = |ws: &[&str]| ws.iter().any(|w| contains_word(lower, w));
    if has(&["how much", "price", "prices", "priced", "cost", "costs", "fee", "fees", "charge", "rate", "rates", "pricing", "expensive", "cheap"]) {
        Intent::Price
    } else if has(&["in stock", "stock", "available", "availability", "have any", "sold out", "left", "still have", "do you have", "do you carry", "do you sell"]) {
        Intent::Stock
    } else if has(&["how long", "duration", "minutes", "take long"]) {
        Intent::Duration
    } else {
        Intent::General
    }
}

/// `needle` as whole words inside `hay`.
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after = hay[i + needle.len()..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        before && after
    })
}

fn levenshtein_at_most_one(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

fn term_matches(q: &str, name_term: &str) -> bool {
    q == name_term || (q.len() >= 5 && name_term.len() >= 5 && levenshtein_at_most_one(q, name_term))
}

/// Finds the catalog item(s) the message names: share of the item name's terms present in the
/// message (one typo allowed in longer words), or the item of the previous turn for "it".
fn match_catalog<'a>(input: &ComposeInput<'a>, q: &[String], intent: Intent) -> CatalogMatch<'a> {
    let mut scored: Vec<(f32, usize, &CatalogItem)> = Vec::new();
    for item in input.catalog {
        let name_terms = dedup(&(input.terms_of)(&item.name));
        if name_terms.is_empty() {
            continue;
        }
        let matched = name_terms.iter().filter(|n| q.iter().any(|t| term_matches(t, n))).count();
        if matched > 0 {
            scored.push((matched as f32 / name_terms.len() as f32, matched, item));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    if let Some(&(score, matched, item)) = scored.first() {
        let runner_up = scored.get(1).map(|s| (s.0, s.1));
        let unique = runner_up.is_none_or(|(s, m)| s < score || m < matched);
        if score >= 0.6 && unique {
            return CatalogMatch::One(item);
        }
        if score >= 0.5 {
            let many: Vec<&CatalogItem> = scored.iter().take_while(|s| s.0 >= score && s.1 >= matched).map(|s| s.2).take(6).collect();
            if many.len() > 1 {
                return CatalogMatch::Many(many);
            }
            return CatalogMatch::One(item);
        }
    }
    // "How much is it?" right after talking about an item.
    let refers_back = q.is_empty() || q.iter().all(|t| ["one", "thing", "item"].contains(&t.as_str()));
    if refers_back && intent != Intent::General {
        if let Some(sku) = &input.state.last_item {
            if let Some(item) = input.catalog.iter().find(|i| &i.sku == sku) {
                return CatalogMatch::One(item);
            }
        }
    }
    CatalogMatch::None
}

fn price_phrase(item: &CatalogItem, currency: &str) -> String {
    let price = format_price(item.price, currency);
    match item.unit.as_deref().map(str::trim) {
        Some(u) if u.starts_with("per ") => format!("{price} {u}"),
        Some("each") => format!("{price} each"),
        _ => price,
    }
}

fn first_sentence(text: &str) -> String {
    sentences(text).into_iter().next().unwrap_or_default()
}

fn catalog_reply(input: &ComposeInput<'_>, item: &CatalogItem, intent: Intent, read: u32, mut state: ConversationState) -> Composition {
    let price = price_phrase(item, input.currency);
    let about = first_sentence(&item.description);
    let text = match intent {
        Intent::Stock => match (item.stock, item.item_type.as_str()) {
            (Some(0), "listing") => format!("The {} is currently under offer, so it is not available.", item.name),
            (Some(0), _) => format!("Sorry, the {} is out of stock right now.", item.name),
            (Some(n), "listing" | "plan") if n > 0 => format!("Yes, the {} is available, at {price}.", item.name),
            (Some(n), _) => format!("Yes, the {} is in stock ({n} available), at {price}.", item.name),
            (None, _) => format!("Yes, we offer the {}, at {price}.", item.name),
        },
        Intent::Duration => match item.duration_minutes {
            Some(d) => format!("The {} takes {d} minutes and costs {price}.", item.name),
            None => format!("The {} is {price}. {about}", item.name),
        },
        Intent::Price | Intent::General => {
            let mut s = format!("The {} is {price}.", item.name);
            if let Some(d) = item.duration_minutes {
                s.push_str(&format!(" It takes {d} minutes."));
            }
            if !about.is_empty() {
                s.push(' ');
                s.push_str(&about);
            }
            if item.stock == Some(0) && item.item_type != "service" {
                s.push_str(if item.item_type == "listing" { " It is currently under offer." } else { " It is out of stock right now." });
            }
            s
        }
    };
    state.last_item = Some(item.sku.clone());
    let read = read + count_tokens(&item.description) + count_tokens(&item.name);
    done(text.trim().to_string(), "catalog", vec![format!("catalog:{}", item.sku)], read, state)
}

fn options_reply(items: &[&CatalogItem], currency: &str) -> String {
    let list: Vec<String> = items
        .iter()
        .map(|i| match i.duration_minutes {
            Some(d) => format!("{} ({}, {d} min)", i.name, price_phrase(i, currency)),
            None => format!("{} ({})", i.name, price_phrase(i, currency)),
        })
        .collect();
    format!("We have a few options: {}. Which one would you like?", list.join("; "))
}

/// How well a passage supports the message.
#[derive(Clone, Copy, Debug)]
struct Support {
    strong: bool,
}

/// The passage that best answers the message: most of its terms covered, then BM25.
fn best_passage(input: &ComposeInput<'_>, q: &[String]) -> Option<(Hit, Support)> {
    let q: Vec<&String> = if q.is_empty() { input.state.last_terms.iter().collect() } else { q.iter().collect() };
    if q.is_empty() {
        return None;
    }
    let top_score = input.hits.first()?.score.max(f32::EPSILON);
    let mut best: Option<(f32, usize, &Hit)> = None;
    for hit in input.hits.iter().take(CANDIDATES) {
        let terms: HashSet<String> = (input.terms_of)(&format!("{} {}", hit.title, hit.text)).into_iter().collect();
        let matched = q.iter().filter(|t| terms.contains(t.as_str())).count();
        let coverage = matched as f32 / q.len() as f32;
        let rank = coverage + 0.25 * hit.score / top_score;
        if best.is_none_or(|(r, _, _)| rank > r) {
            best = Some((rank, matched, hit));
        }
    }
    let (_, matched, hit) = best?;
    if matched == 0 {
        return None;
    }
    let coverage = matched as f32 / q.len() as f32;
    Some((hit.clone(), Support { strong: matched >= 2 || coverage >= 0.5 }))
}

fn distinct_titles(hits: &[Hit], n: usize) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for h in hits {
        let t = h.title.split(" — ").next().unwrap_or(&h.title).split(':').next().unwrap_or(&h.title).trim();
        if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t);
        }
        if out.len() == n {
            break;
        }
    }
    out
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if c.clone().next().is_some_and(|n| n.is_lowercase()) => f.to_lowercase().chain(c).collect(),
        Some(f) => std::iter::once(f).chain(c).collect(),
        None => String::new(),
    }
}

/// Quotes the sentences of `text` that answer the message, in their original order.
fn quote_passage(input: &ComposeInput<'_>, text: &str, q: &[String], intent: Intent) -> String {
    let sents = sentences(text);
    let lower = input.message.to_lowercase();
    let quantitative = intent != Intent::General
        || ["when", "what time", "how many", "how far", "how soon", "until", "deadline", "days"].iter().any(|w| contains_word(&lower, w));
    let q: HashSet<&str> = q.iter().map(String::as_str).collect();
    let mut scored: Vec<(f32, usize, usize)> = sents
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let terms: HashSet<String> = (input.terms_of)(s).into_iter().collect();
            let m = terms.iter().filter(|t| q.contains(t.as_str())).count();
            let digits = s.chars().any(|c| c.is_ascii_digit());
            let score = m as f32 + if quantitative && digits { 0.75 } else { 0.0 } + if i == 0 { 0.1 } else { 0.0 };
            (score, m, i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    let mut chosen: Vec<usize> = Vec::new();
    match scored.first() {
        Some(&(_, m, _)) if m > 0 => {
            for &(score, m, i) in &scored {
                if chosen.len() == MAX_SENTENCES {
                    break;
                }
                if chosen.is_empty() || (m > 0 && score >= scored[0].0 * 0.5) {
                    chosen.push(i);
                }
            }
        }
        _ => chosen.extend(0..sents.len().min(2)),
    }
    chosen.sort_unstable();
    let mut out = String::new();
    for i in chosen {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sents[i]);
        if out.split_whitespace().count() > 80 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_and_intents() {
        let w = |s: &str| words(s);
        assert!(is_greeting(&w("Hi there!"), "Astra"));
        assert!(is_greeting(&w("good morning astra"), "Astra"));
        assert!(!is_greeting(&w("hi, what are your hours?"), "Astra"));
        assert!(!is_greeting(&w("good"), "Astra"));
        assert_eq!(intent_of("how much is the unicorn bundle?"), Intent::Price);
        assert_eq!(intent_of("is the red dress in stock?"), Intent::Stock);
        assert_eq!(intent_of("how long does a facial take"), Intent::Duration);
        assert_eq!(intent_of("where are you based"), Intent::General);
        assert!(!contains_word("priceless", "price"));
    }

    #[test]
    fn one_typo_is_forgiven_in_long_words() {
        assert!(term_matches("unicon", "unicorn"));
        assert!(levenshtein_at_most_one("balloon", "baloon"));
        assert!(!levenshtein_at_most_one("bundle", "candle"));
        assert!(term_matches("mystic", "mystic"));
    }
}
