//! Text generators: the host's own model (or a remote one) behind a small trait, and the composer
//! that uses one — grounded by the turn's passages and tool results, checked by the output rails,
//! and falling back to the [`super::GroundedComposer`] when it fails or strays.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ComposeInput, Composer, Composition, GroundedComposer};
use crate::error::Result;

/// One chat message of a generation request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// What a generator is asked to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationRequest {
    /// The persona's system prompt with the facts the reply may use.
    pub system: String,
    /// The conversation so far, ending with the customer's message.
    pub messages: Vec<ChatMessage>,
    /// Most tokens to write.
    pub max_tokens: u32,
    /// Whether the customer's message carries an image.
    pub has_image: bool,
}

/// A generator's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The reply text.
    pub text: String,
    /// Prompt tokens, as the generator counts them (0 if unknown).
    #[serde(default)]
    pub tokens_in: u32,
    /// Reply tokens, as the generator counts them (0 if unknown).
    #[serde(default)]
    pub tokens_out: u32,
}

/// A text generator a host plugs in (its own model, a remote API).
pub trait Generator: Send + Sync {
    /// A short name for traces.
    fn name(&self) -> &str;
    /// Writes a reply.
    ///
    /// # Errors
    /// Any; the turn then answers with the grounded composer.
    fn generate(&self, request: &GenerationRequest) -> Result<Generation>;

    /// Whether it can read the customer's image (`has_image` turns are routed to it).
    fn accepts_images(&self) -> bool {
        false
    }
}

/// A composer that asks a [`Generator`] and keeps it honest.
pub struct GeneratorComposer {
    generator: Arc<dyn Generator>,
    name: String,
}

impl GeneratorComposer {
    /// Wraps `generator`.
    pub fn new(generator: Arc<dyn Generator>) -> GeneratorComposer {
        let name = format!("generator:{}", generator.name());
        GeneratorComposer { generator, name }
    }
}

/// The request a generator receives for a turn: persona prompt, the passages and tool results it
/// may state facts from, the history window and the message.
pub fn generation_request(input: &ComposeInput<'_>) -> GenerationRequest {
    let mut system = input.persona.system_prompt();
    system.push_str("\n\n## Facts you may use (answer only from these; if they do not cover the question, say so)\n");
    for h in input.hits.iter().take(3) {
        system.push_str(&format!("- {}: {}\n", h.title, h.text.replace('\n', " ")));
    }
    for t in input.tools.iter().filter(|t| t.is_ok()) {
        system.push_str(&format!("- result of {}: {}\n", t.name, t.result.clone().unwrap_or_default()));
    }
    let mut messages: Vec<ChatMessage> =
        input.history.iter().map(|m| ChatMessage { role: m.role.clone(), content: m.text.clone() }).collect();
    messages.push(ChatMessage { role: "user".into(), content: input.message.to_string() });
    GenerationRequest { system, messages, max_tokens: 200, has_image: false }
}

impl Composer for GeneratorComposer {
    fn name(&self) -> &str {
        &self.name
    }

    fn compose(&self, input: &ComposeInput<'_>) -> Result<Composition> {
        let grounded = GroundedComposer.compose(input)?;
        // Greetings, tool results and planner questions are phrased deterministically.
        if !input.tools.is_empty() || input.note.is_some() || matches!(grounded.decision.as_str(), "greeting" | "smalltalk") {
            return Ok(grounded);
        }
        Ok(compose_checked(self.generator.clone(), &self.name, crate::router::DEFAULT_GENERATION_TIMEOUT, input, grounded))
    }
}

/// Share of a generated reply's distinct terms that must appear in what the turn read.
pub const MIN_SUPPORT: f32 = 0.8;

/// Asks `generator` for the turn's reply and keeps it only if the output rails pass it;
/// otherwise (error, panic, empty, stray facts) returns `grounded` with the reason in its
/// decision.
pub(crate) fn compose_checked(generator: Arc<dyn Generator>, name: &str, timeout: Duration, input: &ComposeInput<'_>, grounded: Composition) -> Composition {
    let fallback = |why: String, grounded: Composition| Composition { decision: format!("{} (generator {why})", grounded.decision), ..grounded };
    let mut request = generation_request(input);
    request.has_image = input.has_image;
    // The generator runs on its own thread so a stalled one cannot hold the turn past `timeout`
    // (it finishes in the background; its late answer is dropped).
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let req = request.clone();
    let spawned = std::thread::Builder::new().name("brain-generator".into()).spawn(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generator.generate(&req)));
        let _ = tx.send(out);
    });
    if let Err(e) = spawned {
        return fallback(format!("could not start: {e}"), grounded);
    }
    let draft = match rx.recv_timeout(timeout) {
        Ok(Ok(Ok(g))) if !g.text.trim().is_empty() => g,
        Ok(Ok(Ok(_))) => return fallback("returned nothing".into(), grounded),
        Ok(Ok(Err(e))) => return fallback(format!("failed: {e}"), grounded),
        Ok(Err(_)) => return fallback("panicked".into(), grounded),
        Err(_) => return fallback(format!("timed out after {} ms", timeout.as_millis()), grounded),
    };
    // The output rails decide whether the draft may stand: any repair means it stated something
    // the turn did not read, so the grounded reply is used instead.
    let mut texts: Vec<&str> = vec![input.message];
    texts.extend(input.hits.iter().map(|h| h.text.as_str()));
    texts.extend(input.history.iter().map(|m| m.text.as_str()));
    let sources = crate::guardrails::OutputSources {
        texts,
        catalog: input.catalog,
        tool_results: input.tools.iter().filter_map(|o| o.result.as_ref()).collect(),
    };
    let check = crate::guardrails::check_output(input.persona, &draft.text, &sources);
    if !check.decisions.is_empty() {
        let rails: Vec<&str> = check.decisions.iter().map(|d| d.rail.as_str()).collect();
        return fallback(format!("reply failed {}", rails.join(", ")), grounded);
    }
    // Support: most of what the draft talks about must be in what the turn read (persona,
    // passages, tool results, the conversation). Small models fluently invent hours, policies
    // and services that no number-level rail can see.
    let read: std::collections::HashSet<String> = {
        let mut all = request.system.clone();
        for m in &request.messages {
            all.push(' ');
            all.push_str(&m.content);
        }
        (input.terms_of)(&all).into_iter().collect()
    };
    let mut terms = (input.terms_of)(&draft.text);
    terms.sort();
    terms.dedup();
    let found = terms.iter().filter(|t| read.contains(*t)).count();
    if terms.len() >= 4 && (found as f32) < MIN_SUPPORT * terms.len() as f32 {
        return fallback(format!("reply unsupported: {found} of its {} terms are in what the turn read", terms.len()), grounded);
    }
    let tokens_in = if draft.tokens_in > 0 { draft.tokens_in } else { crate::text::count_tokens(&request.system) + grounded.tokens_in };
    let tokens_out = if draft.tokens_out > 0 { draft.tokens_out } else { crate::text::count_tokens(&draft.text) };
    Composition { text: draft.text.trim().to_string(), decision: name.to_string(), tokens_in, tokens_out, ..grounded }
}
