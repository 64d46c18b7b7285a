//! The respond pipeline: one conversational turn, stage by stage.
//!
//! ```text
//! validate ─▶ tenant & persona ─▶ dedup ─▶ rate limit ─▶ conversation ─▶ retrieve ─▶ compose ─▶ persist ─▶ response
//! ```
//!
//! Authentication happens before the pipeline (the key names the tenant); a trusted host call
//! starts at validate. Each stage takes typed input and returns typed output; the [`Trace`]
//! records what each stage saw and how long it took, and is stored under the request id — for
//! failed requests too.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::access::RateLimit;
use crate::access::Admission;
use crate::compose::{ComposeInput, Composition, ConversationState, QueryTerm};
use crate::contract::{RespondRequest, RespondResponse, ResponseMetadata};
use crate::engine::{Engine, Inner};
use crate::tools::planner::PlanInput;
use crate::tools::{ToolContext, ToolOutcome};
use serde_json::json;
use crate::error::{Error, ErrorKind, Result};
use crate::persona::Persona;
use crate::retrieval::Hit;
use crate::store::{Claim, TenantRow, TurnRecord};

/// Passages retrieved per turn.
const RETRIEVE_LIMIT: usize = 8;
/// Reciprocal-rank fusion constant (the usual 60).
const RRF_K: f32 = 60.0;
/// Weight of terms carried over from the previous question in a follow-up.
const CARRY_WEIGHT: f32 = 0.4;
/// Weight of a synonym of a message term.
const SYNONYM_WEIGHT: f32 = 0.6;
/// A pending dedup claim older than this is taken to be abandoned (its process died).
const DEDUP_STALE: Duration = Duration::from_secs(120);
/// How long a duplicate waits for the first request with its key to finish.
const DEDUP_WAIT: Duration = Duration::from_secs(60);

/// What happened in a turn (or a failed request), stored under its request id.
#[derive(Debug, Default, Serialize)]
pub struct Trace {
    /// The request id.
    pub request_id: String,
    /// The tenant ("" when the request never reached one).
    pub tenant_id: String,
    /// `ok`, or the wire error code.
    pub outcome: String,
    /// The error message, for failed requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The request as received (the credential is never recorded).
    pub request: Option<RespondRequest>,
    /// How the caller was authenticated.
    pub auth: AuthTrace,
    /// The key's rate-limit state after this request.
    pub rate_limit: Option<RateLimit>,
    /// What the dedup stage did.
    pub dedup: Option<DedupTrace>,
    /// Stage timings in microseconds, in pipeline order.
    pub stages: Vec<(String, u64)>,
    /// Query terms and their weights.
    pub query: Vec<(String, f32)>,
    /// Retrieval hits with their BM25 scores.
    pub retrieval: Vec<TraceHit>,
    /// Guardrail decisions, input rails then output rails.
    pub guardrails: Vec<crate::guardrails::Decision>,
    /// The planner's decision: intent, slots, note, pending action.
    pub plan: Option<serde_json::Value>,
    /// Tools run, with arguments, status, results and latency.
    pub tools: Vec<serde_json::Value>,
    /// Which composer ran.
    pub composer: String,
    /// The router's choice: `grounded`, `local_model`, `host_generator`, `image_generator` or
    /// `describe_image`.
    pub route: String,
    /// Whether the dense (embedding) ranking was fused into retrieval, and if it failed, why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_retrieval: Option<String>,
    /// The composer's decision label.
    pub decision: String,
    /// Sources the reply states facts from.
    pub grounding: Vec<String>,
    /// Token counts.
    pub tokens_in: u32,
    /// Token counts.
    pub tokens_out: u32,
    /// Total latency in milliseconds.
    pub latency_ms: u64,
}

/// The authentication of a traced request.
#[derive(Debug, Default, Clone, Serialize)]
pub struct AuthTrace {
    /// `trusted` (an in-process host call) or `api_key`.
    pub method: String,
    /// The key's public prefix (never the secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// `ok` or the wire error code.
    pub outcome: String,
}

/// The dedup stage of a traced request.
#[derive(Debug, Clone, Serialize)]
pub struct DedupTrace {
    /// The tenant-scoped key.
    pub key: String,
    /// `first` (this request ran the turn and stored it).
    pub outcome: String,
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

/// An authenticated key, as the pipeline needs it.
#[derive(Clone, Debug)]
pub(crate) struct KeyAuth {
    pub prefix: String,
    pub limit: u32,
    /// `tools:<namespace>` scopes of the key; when any are present, only tools of those
    /// namespaces may run for its turns.
    pub tool_scopes: Vec<String>,
}

/// The outcome of a turn with the rate-limit state to report (for key callers).
pub(crate) struct TurnOutcome {
    pub result: Result<RespondResponse>,
    pub rate_limit: Option<RateLimit>,
    /// The response is a stored one returned for a repeated `dedup_key`.
    pub replayed: bool,
}

struct Clock {
    start: Instant,
    last: Instant,
}

impl Clock {
    fn new() -> Clock {
        let now = Instant::now();
        Clock { start: now, last: now }
    }
    fn lap(&mut self, trace: &mut Trace, stage: &str) {
        let now = Instant::now();
        trace.stages.push((stage.to_string(), (now - self.last).as_micros() as u64));
        self.last = now;
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Runs one turn for `tenant_id` under `request_id`. Errors carry the request id; every outcome
/// leaves a trace (a replay returns the first request's id, whose trace already exists).
pub(crate) fn run(eng: &Engine, tenant_id: &str, req: &RespondRequest, key: Option<&KeyAuth>, request_id: String) -> TurnOutcome {
    let engine = eng.inner();
    let mut trace = Trace {
        request_id: request_id.clone(),
        tenant_id: tenant_id.to_string(),
        request: Some(req.clone()),
        auth: AuthTrace {
            method: if key.is_some() { "api_key" } else { "trusted" }.into(),
            key_prefix: key.map(|k| k.prefix.clone()),
            outcome: "ok".into(),
        },
        ..Trace::default()
    };
    let mut rate_limit = None;
    let result = run_stages(eng, tenant_id, req, key, &request_id, &mut trace, &mut rate_limit);
    // Every outcome of a recognised key reports its window, counted or not.
    if let (None, Some(k)) = (rate_limit, key) {
        rate_limit = Some(engine.rate_limiter.peek(&k.prefix, k.limit, now_secs()));
    }
    if let Err(e) = &result {
        trace.outcome = e.code().to_string();
        trace.error = Some(e.message().to_string());
        trace.rate_limit = rate_limit;
        if let Ok(json) = serde_json::to_string(&trace) {
            // Losing the trace of a failed request must not hide the failure itself.
            let _ = engine.store.put_trace(&request_id, tenant_id, &json);
        }
    }
    let replayed = trace.dedup.as_ref().is_some_and(|d| d.outcome == "replay");
    TurnOutcome { result: result.map_err(|e| e.with_request_id(request_id)), rate_limit, replayed }
}

fn run_stages(
    eng: &Engine,
    tenant_id: &str,
    req: &RespondRequest,
    key: Option<&KeyAuth>,
    request_id: &str,
    trace: &mut Trace,
    rate_limit: &mut Option<RateLimit>,
) -> Result<RespondResponse> {
    let engine = eng.inner();
    let mut clock = Clock::new();

    // 1. Validate: the type system cannot check sizes and emptiness.
    req.validate()?;
    clock.lap(trace, "validate");

    // 2. Tenant and persona.
    let (tenant, persona) = load_tenant(engine, tenant_id)?;
    clock.lap(trace, "tenant");

    // 3. Dedup: the first request with a key runs the turn; repeats get its stored response.
    let claimed = match &req.dedup_key {
        None => None,
        Some(dedup_key) => match claim(engine, tenant_id, dedup_key, req, request_id)? {
            Some(stored) => {
                *rate_limit = key.map(|k| engine.rate_limiter.peek(&k.prefix, k.limit, now_secs()));
                trace.dedup = Some(DedupTrace { key: dedup_key.clone(), outcome: "replay".into() });
                return Ok(stored);
            }
            None => {
                trace.dedup = Some(DedupTrace { key: dedup_key.clone(), outcome: "first".into() });
                Some(dedup_key.as_str())
            }
        },
    };
    clock.lap(trace, "dedup");

    let turn = (|| -> Result<RespondResponse> {
        // 4. Rate limit: per key, per minute. Replays above never count.
        if let Some(k) = key {
            match engine.rate_limiter.admit(&k.prefix, k.limit, now_secs())? {
                Admission::Admitted(state) => *rate_limit = Some(state),
                Admission::Limited(state, retry_after) => {
                    *rate_limit = Some(state);
                    return Err(Error::rate_limited(format!("Per-key limit of {} rpm reached.", k.limit), retry_after));
                }
            }
            trace.rate_limit = *rate_limit;
        }
        clock.lap(trace, "rate_limit");
        compose_and_persist(eng, tenant_id, req, request_id, &tenant, persona, claimed, key, &mut clock, trace)
    })();
    if turn.is_err() {
        if let Some(dedup_key) = claimed {
            engine.store.release_dedup(tenant_id, dedup_key, request_id)?;
        }
    }
    turn
}

/// Claims the dedup key, or returns the stored response of the request that holds it (waiting
/// for it to finish if it is still running).
fn claim(engine: &Inner, tenant_id: &str, dedup_key: &str, req: &RespondRequest, request_id: &str) -> Result<Option<RespondResponse>> {
    let hash = request_hash(req);
    let window = engine.config.dedup_window.as_millis() as i64;
    let deadline = Instant::now() + DEDUP_WAIT;
    loop {
        let claim = engine.store.claim_dedup(tenant_id, dedup_key, &hash, request_id, window, DEDUP_STALE.as_millis() as i64)?;
        let stored_hash = match &claim {
            Claim::Claimed => return Ok(None),
            Claim::Done { request_hash, .. } | Claim::Pending { request_hash } => request_hash,
        };
        if *stored_hash != hash {
            return Err(Error::bad_request(format!(
                "dedup_key {dedup_key:?} was already used for a different request; use a new key for a new message"
            )));
        }
        if let Claim::Done { response_json, .. } = claim {
            let stored: RespondResponse = serde_json::from_str(&response_json)
                .map_err(|e| Error::new(ErrorKind::Storage, format!("stored response for dedup_key {dedup_key:?} is corrupt: {e}")))?;
            return Ok(Some(stored));
        }
        if Instant::now() > deadline {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("the first request with dedup_key {dedup_key:?} is still running; retry later"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What makes two requests "the same" for dedup: everything but the key itself.
fn request_hash(req: &RespondRequest) -> String {
    let canonical = serde_json::json!([req.channel, req.channel_user_id, req.message_text, req.metadata, req.has_image]);
    crate::access::sha256_hex(canonical.to_string().as_bytes())
}

#[allow(clippy::too_many_arguments)]
fn compose_and_persist(
    eng: &Engine,
    tenant_id: &str,
    req: &RespondRequest,
    request_id: &str,
    tenant: &TenantRow,
    persona: Persona,
    dedup_key: Option<&str>,
    key: Option<&KeyAuth>,
    clock: &mut Clock,
    trace: &mut Trace,
) -> Result<RespondResponse> {
    let engine = eng.inner();
    // 5. Conversation: the bounded history window and the carried-over state; a conversation
    // handed to a human gets no bot reply until the host releases it.
    if engine.store.handoff_open(tenant_id, req.channel.as_str(), &req.channel_user_id)? {
        return canned(engine, tenant_id, req, request_id, persona, String::new(), "handoff_active", dedup_key, clock, trace);
    }

    // Input rails: injection, personal data, abuse, off-topic, floods, size. From here on the
    // stages, the store and the trace see the redacted message.
    let policy = crate::guardrails::Policy::of(&persona);
    let recent = engine.store.recent_user_messages(tenant_id, req.channel.as_str(), &req.channel_user_id, policy.flood_window_secs)?;
    let input_check = crate::guardrails::check_input(&persona, &req.message_text, recent);
    trace.guardrails.extend(input_check.decisions.iter().cloned());
    let stored_req = RespondRequest { message_text: input_check.redacted.clone(), ..req.clone() };
    trace.request = Some(stored_req.clone());
    clock.lap(trace, "input_rails");
    if let Some(reply) = input_check.blocked_reply.clone() {
        if input_check.escalate {
            let ctx = tool_context(eng, tenant_id, req, request_id);
            let o = crate::tools::dispatch(&engine.tools, &["support.handoff".to_string()], &ctx, "support.handoff", json!({ "reason": "guardrail escalation" }), true);
            trace.tools.push(serde_json::to_value(&o).unwrap_or_default());
        }
        return canned(engine, tenant_id, &stored_req, request_id, persona, reply, "guardrail_block", dedup_key, clock, trace);
    }
    // Tools on the policy's list (lead.capture, booking.book by default) may receive the contact
    // details the customer typed; everything else sees the redacted text.
    let slot_text = if policy.pii_allow_tools.iter().any(|t| persona.tools.contains(t)) { req.message_text.clone() } else { stored_req.message_text.clone() };
    let req = &stored_req;
    let (conversation, history) = engine.store.load_conversation(
        tenant_id,
        req.channel.as_str(),
        &req.channel_user_id,
        engine.config.history_window,
    )?;
    let mut state: ConversationState = serde_json::from_value(conversation.state).unwrap_or_default();
    clock.lap(trace, "conversation");

    // 6. Retrieve: the message's terms, plus the previous question's for a follow-up.
    let analyzer = engine.retriever.analyzer();
    let message_terms = query_terms(engine, &req.message_text);
    let query = build_query(&message_terms, &req.message_text, &state);
    // With an embedder, the BM25 ranking is fused with the vector ranking of the message (RRF).
    let mut hits = engine.retriever.search(tenant_id, &query, RETRIEVE_LIMIT)?;
    if engine.vectors.embedder().is_some() {
        match engine.vectors.search(&engine.store, tenant_id, &req.message_text, RETRIEVE_LIMIT) {
            Ok(dense) => {
                hits = crate::retrieval::fuse(hits, dense, RRF_K, RETRIEVE_LIMIT);
                trace.dense_retrieval = Some("fused".into());
            }
            Err(e) => trace.dense_retrieval = Some(format!("failed, BM25 only: {e}")),
        }
    }
    clock.lap(trace, "retrieve");

    // 7. Plan and dispatch tools: intent and slots → calls under the rails → results.
    let catalog = engine.store.catalog(tenant_id)?;
    let terms_of = |s: &str| analyzer.terms(s);
    let slots = crate::tools::slots::extract(&slot_text, crate::tools::slots::Date::today_utc());
    // Tool rails: the persona's allowlist, narrowed by the key's `tools:<namespace>` scopes.
    let allowed: Vec<String> = persona
        .tools
        .iter()
        .filter(|t| key.is_none_or(|k| k.tool_scopes.is_empty() || k.tool_scopes.iter().any(|ns| t.split('.').next() == Some(ns.as_str()))))
        .cloned()
        .collect();
    let host_tools = engine.tools.host_tools();
    let plan_input = PlanInput {
        message: &req.message_text,
        slots: &slots,
        catalog: &catalog,
        allowed: &allowed,
        host_tools: &host_tools,
        pending: state.pending.as_ref(),
        terms_of: &terms_of,
        currency: &tenant.currency,
        last_item: state.last_item.as_deref(),
    };
    let plan = engine.planner.plan(&plan_input);
    let ctx = tool_context(eng, tenant_id, req, request_id);
    let outcomes: Vec<ToolOutcome> = plan
        .calls
        .iter()
        .map(|c| crate::tools::dispatch(&engine.tools, &allowed, &ctx, &c.tool, c.args.clone(), c.confirmed))
        .collect();
    let (note, pending) = engine.planner.follow_up(&plan_input, &plan, &outcomes);
    state.pending = pending;
    trace.plan = Some(json!({ "intent": plan.intent, "slots": slots, "note": note, "pending": state.pending }));
    trace.tools = outcomes.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    clock.lap(trace, "tools");

    // 8. Compose.
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
        tools: &outcomes,
        note: note.as_ref(),
        tools_allowed_order: persona.tools.iter().any(|t| t == "commerce.create_order"),
        has_image: req.has_image,
    };
    // A composer may be the host's own code: its panic fails this turn, not the host.
    let composer = engine.composer.read().map(|c| c.clone()).map_err(|_| Error::internal("the composer lock was poisoned"))?;
    let base = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| composer.compose(&input)))
        .map_err(|_| Error::internal(format!("the {} composer panicked; the turn was not answered", composer.name())))??;
    clock.lap(trace, "compose");

    // 9. Route: the base composition's kind picks who answers; a generator's reply must pass
    // the output rails or the base reply stands.
    let generators = engine.generators.read().map(|g| g.clone()).map_err(|_| Error::internal("the router lock was poisoned"))?;
    let (route, generator) = generators.choose(&crate::router::RouteInput {
        has_image: req.has_image,
        grounded_decision: &base.decision,
        deterministic: !outcomes.is_empty() || note.is_some(),
    });
    let mut composer_name = composer.name().to_string();
    let mut composition = match (&route, generator) {
        (crate::router::Route::DescribeImage, _) => {
            let text = describe_image_reply(&persona);
            Composition { tokens_out: crate::text::count_tokens(&text), text, decision: "describe_image".into(), grounding: vec![], ..base }
        }
        (_, Some(g)) => {
            composer_name = format!("generator:{}", g.name());
            crate::compose::compose_checked(g, &composer_name, generators.policy.generation_timeout, &input, base)
        }
        (_, None) => base,
    };
    trace.route = route.as_str().to_string();
    clock.lap(trace, "route");

    // Output rails: leakage, personal data, prohibited claims, grounding against what was read.
    let mut texts: Vec<&str> = vec![req.message_text.as_str()];
    texts.extend(history.iter().map(|m| m.text.as_str()));
    texts.extend(hits.iter().map(|h| h.text.as_str()));
    let sources = crate::guardrails::OutputSources {
        texts,
        catalog: &catalog,
        tool_results: outcomes.iter().filter_map(|o| o.result.as_ref()).collect(),
    };
    let output_check = crate::guardrails::check_output(&persona, &composition.text, &sources);
    composition.text = output_check.reply;
    trace.guardrails.extend(output_check.decisions);
    clock.lap(trace, "output_rails");

    // 9. Persist: user message, reply, state, trace and the dedup answer in one transaction.
    let latency_ms = clock.start.elapsed().as_millis() as u64;
    let response = RespondResponse {
        ok: true,
        request_id: request_id.to_string(),
        response: composition.text.clone(),
        assistant_name: persona.assistant_name.clone(),
        metadata: ResponseMetadata {
            tools_called: outcomes.iter().filter(|o| o.ran()).map(|o| o.name.clone()).collect(),
            latency_ms,
            tokens_in: composition.tokens_in,
            tokens_out: composition.tokens_out,
            handoff: false,
            guardrails: summary(&trace.guardrails),
            // Stored replays must equal the original: the default route is left out of both.
            route: if route == crate::router::Route::Grounded { String::new() } else { trace.route.clone() },
        },
    };
    trace.outcome = "ok".into();
    trace.query = query;
    trace.retrieval = hits.iter().map(trace_hit).collect();
    trace.composer = composer_name;
    trace.decision = composition.decision.clone();
    trace.grounding = composition.grounding.clone();
    trace.tokens_in = composition.tokens_in;
    trace.tokens_out = composition.tokens_out;
    trace.latency_ms = latency_ms;
    persist(engine, tenant_id, req, request_id, &composition, &hits, trace, &response, dedup_key)?;

    // 10. Response.
    Ok(response)
}

fn tool_context(eng: &Engine, tenant_id: &str, req: &RespondRequest, request_id: &str) -> ToolContext {
    ToolContext {
        tenant_id: tenant_id.to_string(),
        channel: req.channel,
        channel_user_id: req.channel_user_id.clone(),
        request_id: request_id.to_string(),
        engine: eng.clone(),
    }
}

/// The additive `metadata.guardrails` field: each rail that acted, and how.
fn summary(decisions: &[crate::guardrails::Decision]) -> Vec<String> {
    decisions.iter().filter(|d| d.action != "allow").map(|d| format!("{}:{}", d.rail, d.action)).collect()
}

/// A turn answered without the pipeline: a guardrail's canned reply (decision `guardrail_block`)
/// or the silence of an open handoff (`handoff_active`, empty reply). The (redacted) message is
/// stored like any other, with the trace and the dedup answer.
#[allow(clippy::too_many_arguments)]
fn canned(
    engine: &Inner,
    tenant_id: &str,
    req: &RespondRequest,
    request_id: &str,
    persona: Persona,
    reply: String,
    decision: &str,
    dedup_key: Option<&str>,
    clock: &mut Clock,
    trace: &mut Trace,
) -> Result<RespondResponse> {
    let (conversation, _) = engine.store.load_conversation(tenant_id, req.channel.as_str(), &req.channel_user_id, 0)?;
    let state: ConversationState = serde_json::from_value(conversation.state).unwrap_or_default();
    let handoff = decision == "handoff_active";
    let composition = Composition {
        tokens_in: if handoff { 0 } else { crate::text::count_tokens(&req.message_text) },
        tokens_out: crate::text::count_tokens(&reply),
        text: reply,
        decision: decision.into(),
        grounding: vec![],
        state,
    };
    let latency_ms = clock.start.elapsed().as_millis() as u64;
    let response = RespondResponse {
        ok: true,
        request_id: request_id.to_string(),
        response: composition.text.clone(),
        assistant_name: persona.assistant_name,
        metadata: ResponseMetadata {
            latency_ms,
            tokens_in: composition.tokens_in,
            tokens_out: composition.tokens_out,
            tools_called: trace.tools.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect(),
            handoff,
            guardrails: summary(&trace.guardrails),
            route: String::new(),
        },
    };
    trace.outcome = "ok".into();
    trace.decision = composition.decision.clone();
    trace.latency_ms = latency_ms;
    persist(engine, tenant_id, req, request_id, &composition, &[], trace, &response, dedup_key)?;
    Ok(response)
}


/// The honest answer to an image nobody here can see.
fn describe_image_reply(persona: &Persona) -> String {
    format!(
        "I can't view images here, sorry! Could you describe what's in the picture (or type the product name or your question)? {} will take it from there.",
        persona.assistant_name
    )
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

/// Words that mark a message as a follow-up to the previous question.
const FOLLOW_UP_MARKERS: &[&str] = &["and", "also", "what about", "how about", "it", "that", "this", "they", "them", "those", "there"];

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

#[allow(clippy::too_many_arguments)]
fn persist(
    engine: &Inner,
    tenant_id: &str,
    req: &RespondRequest,
    request_id: &str,
    composition: &Composition,
    hits: &[Hit],
    trace: &Trace,
    response: &RespondResponse,
    dedup_key: Option<&str>,
) -> Result<()> {
    let response_json = serde_json::to_string(response).map_err(|e| Error::internal(e.to_string()))?;
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
        dedup: dedup_key.map(|k| (k, response_json.as_str())),
    })
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_carry_the_previous_terms_with_less_weight() {
        let state = ConversationState { last_terms: vec!["open".into()], ..Default::default() };
        let qt = |t: &str| QueryTerm { term: t.into(), weight: 1.0, synonyms: vec![] };
        let q = build_query(&[qt("sunday")], "What about Sunday?", &state);
        assert_eq!(q, vec![("sunday".to_string(), 1.0), ("open".to_string(), CARRY_WEIGHT)]);
        let long = [qt("deliveri"), qt("cost"), qt("london"), qt("saturday")];
        let q = build_query(&long, "and delivery cost to London on Saturday", &state);
        assert_eq!(q.len(), 4, "a long message stands on its own");
    }
}
