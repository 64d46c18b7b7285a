//! The model-free composer: answers in the persona's voice from what retrieval found, quoting
//! passages, business facts and catalog entries as written. It never states a price, time or
//! policy that it did not read.

use std::collections::HashSet;

use super::{ComposeInput, Composer, Composition, ConversationState, QueryTerm};
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

        if let Some((text, decision)) = super::tools_reply::reply(input) {
            let read = read + input.tools.iter().map(|o| count_tokens(&o.result.clone().unwrap_or_default().to_string())).sum::<u32>();
            return Ok(done(text, &decision, input.tools.iter().map(|o| format!("tool:{}", o.name)).collect(), read, input.state.clone()));
        }
        if is_greeting(&words, &persona.assistant_name) {
            return Ok(done(persona.greeting.clone(), "greeting", vec![], read, input.state.clone()));
        }
        if let Some(reply) = smalltalk(&words, &persona.business_name) {
            return Ok(done(reply, "smalltalk", vec![], read, input.state.clone()));
        }

        let intent = intent_of(&input.message.to_lowercase());
        let q: Vec<QueryTerm> = if input.message_terms.is_empty() {
            // "How much is it?": no terms of its own; lean on the previous question.
            input.state.last_terms.iter().map(|t| QueryTerm { term: t.clone(), weight: 1.0, synonyms: vec![] }).collect()
        } else {
            input.message_terms.to_vec()
        };
        let catalog = match_catalog(input, &q, intent);
        let matched_sku = match &catalog {
            CatalogMatch::One(item) => Some(item.sku.as_str()),
            _ => None,
        };
        let best = best_passage(input, &q, matched_sku);
        let passage_strength = best.as_ref().map_or(0.0, |(h, s)| if h.kind == "catalog" { 0.0 } else { s.coverage });
        let mut state = ConversationState {
            last_terms: input.message_terms.iter().map(|t| t.term.clone()).collect(),
            last_item: input.state.last_item.clone(),
            pending: input.state.pending.clone(),
        };

        // A catalog item named more completely than any passage covers the question: answer from
        // the catalog. A full name always wins.
        match &catalog {
            CatalogMatch::One(item) => {
                let name_score = name_score(input, item, &q);
                let is_item = best.as_ref().is_some_and(|(h, _)| h.doc_id == format!("catalog:{}", item.sku));
                if name_score >= 0.999 || is_item || name_score >= passage_strength || intent_is_item(intent, &q) {
                    return Ok(catalog_reply(input, item, intent, read, state));
                }
            }
            CatalogMatch::Many(items) if intent != Intent::General && passage_strength < 0.5 => {
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
        let mut text = quote_passage(input, &hit.text, &q, intent);
        let mut grounding = vec![hit.doc_id.clone()];
        // A contact detail asked for by name is given even when a passage answered the rest.
        for (doc_id, fact) in asked_facts(input) {
            if !text.contains(fact.as_str()) {
                text.push(' ');
                text.push_str(&fact_sentence(&doc_id, &fact));
                grounding.push(doc_id);
            }
        }
        Ok(done(text, "passage", grounding, read, state))
    }
}

/// A question about a named item itself ("how much is it", "is it in stock") rather than a policy.
fn intent_is_item(intent: Intent, q: &[QueryTerm]) -> bool {
    intent != Intent::General && q.len() <= 2
}

/// Contact details the message asks for by name: (fact doc id, value).
fn asked_facts(input: &ComposeInput<'_>) -> Vec<(String, String)> {
    let lower = input.message.to_lowercase();
    let f = &input.persona.facts;
    let mut out = Vec::new();
    if (contains_word(&lower, "email") || contains_word(&lower, "e-mail")) && !f.email.is_empty() {
        out.push(("fact:email".to_string(), f.email.clone()));
    }
    if (contains_word(&lower, "phone") || contains_word(&lower, "call you") || contains_word(&lower, "phone number")) && !f.phone.is_empty() {
        out.push(("fact:phone".to_string(), f.phone.clone()));
    }
    if (contains_word(&lower, "address") || contains_word(&lower, "located") || contains_word(&lower, "where are you")) && !f.location.is_empty() {
        out.push(("fact:location".to_string(), f.location.clone()));
    }
    out
}

fn fact_sentence(doc_id: &str, value: &str) -> String {
    match doc_id {
        "fact:email" => format!("You can email us at {value}."),
        "fact:phone" => format!("You can call us on {value}."),
        _ => format!("You'll find us at {value}"),
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
fn name_match(input: &ComposeInput<'_>, item: &CatalogItem, q: &[QueryTerm]) -> (f32, usize) {
    let name_terms = dedup(&(input.terms_of)(&item.name));
    if name_terms.is_empty() {
        return (0.0, 0);
    }
    let matched = name_terms.iter().filter(|n| q.iter().any(|t| term_matches(&t.term, n))).count();
    (matched as f32 / name_terms.len() as f32, matched)
}

fn name_score(input: &ComposeInput<'_>, item: &CatalogItem, q: &[QueryTerm]) -> f32 {
    name_match(input, item, q).0
}

fn match_catalog<'a>(input: &ComposeInput<'a>, q: &[QueryTerm], intent: Intent) -> CatalogMatch<'a> {
    let mut scored: Vec<(f32, usize, &CatalogItem)> = Vec::new();
    for item in input.catalog {
        let (score, matched) = name_match(input, item, q);
        if matched > 0 {
            scored.push((score, matched, item));
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
    // Terms that only say what is asked (price, stock, length), not what it is asked about.
    const ASKING: &[&str] = &["one", "thing", "item", "stock", "price", "cost", "avail", "fee", "charg", "long", "take", "minut", "left", "sold", "expens", "cheap", "rate", "durat", "still"];
    let lower = input.message.to_lowercase();
    let pronoun = ["it", "that", "this", "them", "those", "they", "one"].iter().any(|p| contains_word(&lower, p));
    let refers_back = input.message_terms.is_empty()
        || (pronoun && input.message_terms.iter().all(|t| ASKING.contains(&t.term.as_str())));
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
    if item.price == 0.0 {
        return "free".to_string();
    }
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
            Some(d) => format!("The {} takes {d} minutes and is {price}. {about}", item.name),
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
    /// Share of the message's weight (IDF) the passage covers.
    coverage: f32,
    strong: bool,
}

/// The passage that best answers the message: most of its weighted terms covered, then BM25.
/// Catalog entries compete only when the message names that item.
fn best_passage(input: &ComposeInput<'_>, q: &[QueryTerm], matched_sku: Option<&str>) -> Option<(Hit, Support)> {
    let total: f32 = q.iter().map(|t| t.weight).sum();
    if total <= 0.0 {
        return None;
    }
    let top_score = input.hits.first()?.score.max(f32::EPSILON);
    let has_text_hit = input.hits.iter().take(CANDIDATES).any(|h| h.kind != "catalog");
    let mut best: Option<(f32, f32, usize, &Hit)> = None;
    for hit in input.hits.iter().take(CANDIDATES) {
        if hit.kind == "catalog" && has_text_hit && matched_sku.is_none_or(|s| hit.doc_id != format!("catalog:{s}")) {
            continue;
        }
        let terms: HashSet<String> = (input.terms_of)(&format!("{} {}", hit.title, hit.text)).into_iter().collect();
        let found: Vec<&QueryTerm> = q.iter().filter(|t| t.weight > 0.0 && t.found_in(&terms)).collect();
        let coverage = found.iter().map(|t| t.weight).sum::<f32>() / total;
        let rank = coverage + 0.25 * hit.score / top_score;
        if best.is_none_or(|(r, ..)| rank > r) {
            best = Some((rank, coverage, found.len(), hit));
        }
    }
    let (_, coverage, matched, hit) = best?;
    if matched == 0 {
        return None;
    }
    Some((hit.clone(), Support { coverage, strong: matched >= 2 || coverage >= 0.4 }))
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

/// Quotes the sentences of `text` that answer the message, in their original order. A chosen
/// sentence that introduces a list (ends with `:`) brings the list with it.
fn quote_passage(input: &ComposeInput<'_>, text: &str, q: &[QueryTerm], intent: Intent) -> String {
    let sents = sentences(text);
    let lower = input.message.to_lowercase();
    let quantitative = intent != Intent::General
        || ["when", "what time", "how many", "how far", "how soon", "how fast", "until", "deadline", "days", "ahead"]
            .iter()
            .any(|w| contains_word(&lower, w));
    let max_w = q.iter().map(|t| t.weight).fold(0.0f32, f32::max).max(f32::EPSILON);
    let mut scored: Vec<(f32, usize)> = sents
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let terms: HashSet<String> = (input.terms_of)(s).into_iter().collect();
            let m: f32 = q.iter().filter(|t| t.found_in(&terms)).map(|t| t.weight / max_w).sum();
            let digits = s.chars().any(|c| c.is_ascii_digit());
            let mut score = m + if quantitative && digits && m > 0.0 { 0.75 } else { 0.0 } + if i == 0 { 0.1 } else { 0.0 };
            if s.ends_with('?') {
                score *= 0.3; // a question in the text is not an answer
            }
            (score, i)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = Vec::new();
    match scored.first() {
        Some(&(top, _)) if top > 0.2 => {
            for &(score, i) in &scored {
                if chosen.len() == MAX_SENTENCES {
                    break;
                }
                if chosen.is_empty() || score >= top * 0.5 {
                    chosen.push(i);
                }
            }
        }
        _ => chosen.extend(0..sents.len().min(2)),
    }
    chosen.sort_unstable();
    let mut with_lists: Vec<usize> = Vec::new();
    for &i in &chosen {
        with_lists.push(i);
        // "Here is what you need. Each applicant provides:" followed by the list.
        let intro = if sents[i].ends_with(':') { Some(i) } else { Some(i + 1).filter(|&n| sents.get(n).is_some_and(|s| s.ends_with(':'))) };
        if let Some(intro) = intro {
            with_lists.extend((intro..sents.len()).take(7));
        }
    }
    with_lists.sort_unstable();
    with_lists.dedup();
    let mut out = String::new();
    for i in with_lists {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sents[i]);
        if !sents[i].ends_with(['.', '!', '?', ':']) {
            out.push(if out.ends_with(':') { ' ' } else { ';' });
        }
        if out.split_whitespace().count() > 110 {
            break;
        }
    }
    out.trim_end_matches(';').to_string()
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
