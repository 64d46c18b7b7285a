//! Composers turn what a turn knows (persona, message, history, retrieved passages, catalog) into
//! a reply. [`GroundedComposer`] needs no model and never states a fact it did not read; model
//! composers plug in through the same [`Composer`] trait.

mod generator;
mod grounded;
mod tools_reply;

use serde::{Deserialize, Serialize};

pub use generator::{ChatMessage, Generation, GenerationRequest, Generator, GeneratorComposer, generation_request};
pub(crate) use generator::compose_checked;
pub use grounded::GroundedComposer;

use crate::catalog::CatalogItem;
use crate::error::Result;
use crate::persona::Persona;
use crate::retrieval::Hit;
use crate::store::MessageRow;

/// Everything a composer may read for one turn.
pub struct ComposeInput<'a> {
    /// The tenant's persona.
    pub persona: &'a Persona,
    /// ISO 4217 currency of the catalog.
    pub currency: &'a str,
    /// The customer's message.
    pub message: &'a str,
    /// Its index terms (stemmed, stop words removed) with their weights and synonyms.
    pub message_terms: &'a [QueryTerm],
    /// Recent messages of the conversation, oldest first (bounded window).
    pub history: &'a [MessageRow],
    /// Retrieved passages, best first.
    pub hits: &'a [Hit],
    /// The tenant's catalog.
    pub catalog: &'a [CatalogItem],
    /// State carried over from the previous turn.
    pub state: &'a ConversationState,
    /// Term analyzer (the retrieval analyzer), for matching names and passages.
    pub terms_of: &'a (dyn Fn(&str) -> Vec<String> + Sync),
    /// Tools that ran this turn, in order, with their results.
    pub tools: &'a [crate::tools::ToolOutcome],
    /// What the planner wants said besides (a question, a confirmation, a cancellation).
    pub note: Option<&'a crate::tools::planner::PlanNote>,
    /// Whether the persona may place orders (a recommendation then offers to "lock it in").
    pub tools_allowed_order: bool,
    /// Whether the customer's message carries an image.
    pub has_image: bool,
}

/// One term of the customer's message, as retrieval and composers weigh it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryTerm {
    /// The index term (stemmed).
    pub term: String,
    /// Its inverse document frequency; 0 when nothing indexed contains it or its synonyms.
    pub weight: f32,
    /// Index terms that stand for the same thing.
    pub synonyms: Vec<String>,
}

impl QueryTerm {
    /// Whether `terms` contains this term or one of its synonyms.
    pub fn found_in(&self, terms: &std::collections::HashSet<String>) -> bool {
        terms.contains(&self.term) || self.synonyms.iter().any(|s| terms.contains(s))
    }
}

/// What carries from one turn of a conversation to the next.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationState {
    /// Index terms of the last question that found an answer (for follow-ups).
    #[serde(default)]
    pub last_terms: Vec<String>,
    /// SKU of the catalog item last talked about ("how much is it?").
    #[serde(default)]
    pub last_item: Option<String>,
    /// An action waiting for the customer's confirmation or for missing details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<crate::tools::planner::PendingAction>,
}

/// A composer's reply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Composition {
    /// Reply text.
    pub text: String,
    /// How the reply was chosen: `greeting`, `smalltalk`, `catalog`, `catalog_options`, `fact`,
    /// `passage`, `clarify`, `fallback`, or a model composer's own label.
    pub decision: String,
    /// Retrieval documents (or `catalog:SKU`) the reply states facts from.
    pub grounding: Vec<String>,
    /// Tokens read.
    pub tokens_in: u32,
    /// Tokens written.
    pub tokens_out: u32,
    /// State for the next turn.
    pub state: ConversationState,
}

/// Turns a [`ComposeInput`] into a [`Composition`].
///
/// Implement it to plug in a model; it must be `Send + Sync` because turns run on many threads.
pub trait Composer: Send + Sync {
    /// A short name recorded in traces.
    fn name(&self) -> &str;

    /// Compose the reply.
    ///
    /// # Errors
    /// Any kind; the turn reports it as the turn's error.
    fn compose(&self, input: &ComposeInput<'_>) -> Result<Composition>;
}
