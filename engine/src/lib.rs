//! # Brain
//!
//! An embeddable conversational engine. A host program links Brain and runs a customer
//! conversation turn in-process: persona → retrieval over the tenant's knowledge base → compose →
//! reply, with the hosted API's exact `respond` contract and error codes.
//!
//! ```
//! use brain::{Channel, Engine, Plan, RespondRequest};
//!
//! let engine = Engine::open_in_memory()?;
//! engine.create_tenant("acme", "Acme Parties", Plan::Starter)?;
//! engine.marketplace_apply("acme", "party_supplies")?;
//!
//! let reply = engine.respond(
//!     "acme",
//!     &RespondRequest::new(Channel::Web, "user-abc", "How much is the Mystical Unicorn Bundle?"),
//! )?;
//! assert_eq!(reply.assistant_name, "Astra");
//! assert!(reply.response.contains("$89.00"));
//! # Ok::<(), brain::Error>(())
//! ```
//!
//! ## Core concepts
//! - [`Engine`]: one handle over a data directory (`brain.db` + tantivy `index/`); `Send + Sync`,
//!   cheap to clone.
//! - Tenants own a [`Persona`], a knowledge base, a catalog and a [`Plan`]; the
//!   [marketplace](Engine::marketplace_apply) loads all of it from a built-in vertical.
//! - [`RespondRequest`] / [`RespondResponse`] / [`ErrorBody`]: the wire contract, one source of
//!   truth for every binding. [`Error`] carries an [`ErrorKind`] that maps to the wire code.
//! - A turn runs as stages (see `ARCHITECTURE.md`); the reply comes from a [`Composer`], by
//!   default the model-free [`GroundedComposer`].
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod access;
mod catalog;
mod http;
mod compose;
mod contract;
mod engine;
mod error;
pub mod guardrails;
mod knowledge;
pub mod marketplace;
#[cfg(feature = "models")]
pub mod models;
mod persona;
mod retrieval;
mod router;
mod store;
mod tenant;
mod text;
mod tools;
mod turn;
pub mod webhooks;

pub use access::{ApiKeyInfo, DEFAULT_SCOPE, IssuedKey, RateLimit, SCOPES};
pub use http::{HttpRequest, HttpResponse};
pub use catalog::{AttributeValue, CatalogItem, format_price};
pub use compose::{
    ChatMessage, ComposeInput, Composer, Composition, ConversationState, Generation, GenerationRequest, Generator,
    GeneratorComposer, GroundedComposer, QueryTerm, generation_request,
};
pub use contract::{
    Channel, ErrorBody, MAX_BODY_BYTES, MAX_ID_BYTES, MAX_MESSAGE_BYTES, MAX_METADATA_BYTES, RespondRequest,
    RespondResponse, ResponseMetadata, new_request_id,
};
pub use engine::{ApplyReport, Config, ConversationSummary, Engine, EngineBuilder, EngineStats, IngestReport, KeyedOutcome, Progress};
pub use error::{Error, ErrorKind, Result};
pub use marketplace::{Document, VerticalInfo, VerticalPack};
pub use persona::{BusinessFacts, Persona, PromptSections};
pub use retrieval::{Embedder, Hit};
pub use router::{Route, RouteMode, RoutePolicy};
pub use store::MessageRow as Message;
pub use tenant::{Plan, Tenant};
pub use text::count_tokens;
pub use tools::planner::{PendingAction, PlanNote};
pub use tools::{DEFAULT_TOOL_TIMEOUT, Tool, ToolContext, ToolHandler, ToolInfo, ToolOutcome};
pub use turn::{AuthTrace, DedupTrace, Trace, TraceHit};

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
