//! The respond pipeline: one conversational turn, stage by stage.
//!
//! ```text
//! validate ─▶ tenant & persona ─▶ conversation ─▶ retrieve ─▶ compose ─▶ persist ─▶ response
//! ```
//!
//! Each stage takes typed input and returns typed output; the [`Trace`] records what each stage
//! saw and how long it took, and is stored under the request id.

use std::time::Instant;

use serde::Serialize;

use crate::compose::{ComposeInput, Composition, ConversationState, QueryTerm};
use crate::contract::{RespondRequest, RespondResponse, ResponseMetadata};
use crate::engine::Inner;
use crate::error::{Error, Result};
use crate::persona::Persona;
use crate::retrieval::Hit;
use crate::store::{TenantRow, TurnRecord};

/// Passages retrieved per turn.
const RETRIEVE_LIMIT: usize = 8;
/// Weight of terms carried over from the previous question in a follow-up.
const CARRY_WEIGHT: f32 = 0.4;
/// Weight of a synonym of a message term.
const SYNONYM_WEIGHT: f32 = 0.6;

/// What happened in a turn, stored under its request id.
#[derive(Debug, Serialize)]
pub struct Trace {
    /// The request id.
    pub request_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The request as received.
    pub request: RespondRequest,
    /// Stage timings in microseconds, in pipeline order.
    pub stages: Vec<(String, u64)>,
    /// Query terms and their weights.
    pub query: Vec<(String, f32)>,
    /// Retrieval hits with their BM25 scores.
    pub retrieval: Vec<TraceHit>,
    /// Which composer ran and what it decided.
    pub composer: String,
    /// The composer's decision label.
    pub decision: String,
    /// Sources the reply states facts from.
    pub grounding: Vec<String>,
    /// Token counts.
    pub tokens_in: u32,
    /// Token counts.
    pub tokens_out: u32,
    /// Total latency.
    pub latency_ms: u64,
}

/// A retrieval hit as traced (text elided).
#[derive(Debug, Serialize)]
pub struct TraceHit {
    /// Retrieval document id.
    pub doc_id: String,
    /// Chunk number.
    pub ord: u32,
    /// `kb`, `catalog` or `fact`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// BM25 score.
    pub score: f32,
}

struct Clock {
    start: Instant,
    last: Instant,
    stages: Vec<(String, u64)>,
}

impl Clock {
    fn new() -> Clock {
        let now = Instant::now();
        Clock { start: now, last: now, stages: Vec::new() }
    }
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        self.stages.push((stage.to_string(), (now - self.last).as_micros() as u64));
        self.last = now;
    }
}

/// Runs one turn for `tenant_id`. Errors carry the request id.
pub(crate) fn run(engine: &Inner, tenant_id: &str, req: &RespondRequest) -> Result<RespondResponse> {
    let request_id = crate::contract::new_request_id();
    run_stages(engine, tenant_id, req, &request_id).map_err(|e| e.with_request_id(request_id))
}

fn run_stages(engine: &Inner, tenant_id: &str, req: &RespondRequest, request_id: &str) -> Result<RespondResponse> {
    let mut clock = Clock::new();

    // 1. Validate: the type system cannot check sizes and emptiness.
    req.validate()?;
    clock.lap("validate");

    // 2. Tenant and persona.
    let (tenant, persona) = load_tenant(engine, tenant_id)?;
    clock.lap("tenant");

    // 3. Conversation: the bounded history window and the carried-over state.
    let (conversation, history) = engine.store.load_conversation(
        tenant_id,
        req.channel.as_str(),
        &req.channel_user_id,
        engine.config.history_window,
    )?;
    let state: ConversationState = serde_json::from_value(conversation.state).unwrap_or_default();
    clock.lap("conversation");

    // 4. Retrieve: the message's terms, plus the previous question's for a follow-up.
    let analyzer = engine.retriever.analyzer();
    let message_terms = query_terms(engine, &req.message_text);
    let query = build_query(&message_terms, &req.message_text, &state);
    let hits = engine.retriever.search(tenant_id, &query, RETRIEVE_LIMIT)?;
    clock.lap("retrieve");

    // 5. Compose.
    let catalog = engine.store.catalog(tenant_id)?;
    let terms_of = |s: &str| analyzer.terms(s);
    let input = ComposeInput {
        persona: &persona,
        currency: &tenant.currency,
        message: &req.message_text,
        message_terms: &message_terms,
        history: &history,
        hits: &hits,
        catalog: &catalog,
        state: &state,
        terms_of: &terms_of,
    };
    // A composer may be the host's own code: its panic fails this turn, not the host.
    let composition = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.composer.compose(&input)))
        .map_err(|_| Error::internal(format!("the {} composer panicked; the turn was not answered", engine.composer.name())))??;
    clock.lap("compose");

    // 6. Persist: user message, reply, state and trace in one transaction.
    let latency_ms = clock.start.elapsed().as_millis() as u64;
    let trace = Trace {
        request_id: request_id.to_string(),
        tenant_id: tenant_id.to_string(),
        request: req.clone(),
        stages: clock.stages.clone(),
        query: query.clone(),
        retrieval: hits.iter().map(trace_hit).collect(),
        composer: engine.composer.name().to_string(),
        decision: composition.decision.clone(),
        grounding: composition.grounding.clone(),
        tokens_in: composition.tokens_in,
        tokens_out: composition.tokens_out,
        latency_ms,
    };
    persist(engine, tenant_id, req, request_id, &composition, &hits, &trace)?;

    // 7. Response.
    Ok(RespondResponse {
        ok: true,
        request_id: request_id.to_string(),
        response: composition.text,
        assistant_name: persona.assistant_name,
        metadata: ResponseMetadata {
            tools_called: Vec::new(),
            latency_ms: clock.start.elapsed().as_millis() as u64,
            tokens_in: composition.tokens_in,
            tokens_out: composition.tokens_out,
        },
    })
}

fn load_tenant(engine: &Inner, tenant_id: &str) -> Result<(TenantRow, Persona)> {
    let tenant = engine
        .store
        .tenant(tenant_id)?
        .ok_or_else(|| Error::not_found(format!("tenant {tenant_id:?} does not exist")))?;
    let persona = tenant.persona.clone().ok_or_else(|| {
        Error::not_found(format!(
            "tenant {tenant_id:?} has no persona: apply a marketplace vertical or load a persona first"
        ))
    })?;
    Ok((tenant, persona))
}

/// Words that mark a message as a follow-up to the previous question.
const FOLLOW_UP_MARKERS: &[&str] = &["and", "also", "what about", "how about", "it", "that", "this", "they", "them", "those", "there"];

/// The message's distinct terms, weighted by IDF, with their synonyms.
fn query_terms(engine: &Inner, message: &str) -> Vec<QueryTerm> {
    let analyzer = engine.retriever.analyzer();
    let mut out: Vec<QueryTerm> = Vec::new();
    for term in analyzer.terms(message) {
        if out.iter().any(|q| q.term == term) {
            continue;
        }
        let synonyms = analyzer.synonyms(&term).to_vec();
        let weight = std::iter::once(&term).chain(&synonyms).map(|t| engine.retriever.idf(t)).fold(0.0, f32::max);
        out.push(QueryTerm { term, weight, synonyms });
    }
    out
}

fn build_query(message_terms: &[QueryTerm], message: &str, state: &ConversationState) -> Vec<(String, f32)> {
    let mut query: Vec<(String, f32)> = Vec::new();
    let mut push = |t: &str, w: f32| {
        if !query.iter().any(|(q, _)| q == t) {
            query.push((t.to_string(), w));
        }
    };
    for t in message_terms {
        push(&t.term, 1.0);
    }
    for t in message_terms {
        for s in &t.synonyms {
            push(s, SYNONYM_WEIGHT);
        }
    }
    let lower = message.to_lowercase();
    let first_words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let marked = FOLLOW_UP_MARKERS.iter().any(|m| {
        let mw: Vec<&str> = m.split(' ').collect();
        first_words.windows(mw.len()).any(|w| w == mw.as_slice())
    });
    let short = message_terms.len() <= 3;
    if (short && marked) || message_terms.is_empty() {
        for t in &state.last_terms {
            push(t, CARRY_WEIGHT);
        }
    }
    query
}

fn trace_hit(h: &Hit) -> TraceHit {
    TraceHit { doc_id: h.doc_id.clone(), ord: h.ord, kind: h.kind.clone(), title: h.title.clone(), score: h.score }
}

fn persist(
    engine: &Inner,
    tenant_id: &str,
    req: &RespondRequest,
    request_id: &str,
    composition: &Composition,
    hits: &[Hit],
    trace: &Trace,
) -> Result<()> {
    let retrieved: Vec<(&str, u32, f32)> = hits.iter().map(|h| (h.doc_id.as_str(), h.ord, h.score)).collect();
    let retrieved_json = serde_json::to_string(&retrieved).map_err(|e| Error::internal(e.to_string()))?;
    let trace_json = serde_json::to_string(trace).map_err(|e| Error::internal(e.to_string()))?;
    let state = serde_json::to_value(&composition.state).map_err(|e| Error::internal(e.to_string()))?;
    engine.store.record_turn(&TurnRecord {
        tenant: tenant_id,
        channel: req.channel.as_str(),
        channel_user_id: &req.channel_user_id,
        request_id,
        user_text: &req.message_text,
        reply_text: &composition.text,
        retrieved_json: &retrieved_json,
        latency_ms: trace.latency_ms,
        tokens_in: composition.tokens_in,
        tokens_out: composition.tokens_out,
        state: &state,
        trace_json: &trace_json,
    })
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_carry_the_previous_terms_with_less_weight() {
        let state = ConversationState { last_terms: vec!["open".into()], last_item: None };
        let qt = |t: &str| QueryTerm { term: t.into(), weight: 1.0, synonyms: vec![] };
        let q = build_query(&[qt("sunday")], "What about Sunday?", &state);
        assert_eq!(q, vec![("sunday".to_string(), 1.0), ("open".to_string(), CARRY_WEIGHT)]);
        let long = [qt("deliveri"), qt("cost"), qt("london"), qt("saturday")];
        let q = build_query(&long, "and delivery cost to London on Saturday", &state);
        assert_eq!(q.len(), 4, "a long message stands on its own");
    }
}
