//! The engine: one handle over storage, retrieval and the composer. `Send + Sync`, cheap to clone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::CatalogItem;
use crate::compose::{Composer, GroundedComposer};
use crate::contract::{ErrorBody, RespondRequest, RespondResponse};
use crate::error::{Error, Result};
use crate::knowledge::{self, Parsed};
use crate::marketplace::{Document, VerticalInfo, VerticalPack};
use crate::persona::Persona;
use crate::retrieval::{IndexBatch, Retriever};
use crate::store::{ChunkRow, Store};
use crate::tenant::{Plan, Tenant, validate_tenant_id};

/// Settings of an engine.
#[derive(Clone, Debug)]
pub struct Config {
    /// Messages of history fed to the composer each turn (the per-turn cost stays bounded however
    /// long a conversation grows). Default 10.
    pub history_window: usize,
    /// How long a `dedup_key` answers with its stored response. Default 24 hours.
    pub dedup_window: Duration,
    /// How long traces are kept. Default 30 days.
    pub trace_retention: Duration,
    /// Whether inbound channel webhooks are served (default: the `BRAIN_WEBHOOK_ENABLED`
    /// environment variable is `1`, `true` or `yes`).
    pub webhooks_enabled: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            history_window: 10,
            dedup_window: Duration::from_secs(24 * 3600),
            trace_retention: Duration::from_secs(30 * 24 * 3600),
            webhooks_enabled: std::env::var("BRAIN_WEBHOOK_ENABLED").is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes")),
        }
    }
}

/// Builds an [`Engine`]: where it stores data, and which composer it uses.
pub struct EngineBuilder {
    dir: Option<PathBuf>,
    config: Config,
    composer: Arc<dyn Composer>,
    admin_token_hash: Option<String>,
    embedder: Option<Arc<dyn crate::Embedder>>,
    generators: crate::router::Generators,
}

impl EngineBuilder {
    /// Store data in `dir` (created if missing): `dir/brain.db` and `dir/index/`.
    pub fn data_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Keep everything in memory (tests, throwaway engines).
    pub fn in_memory(mut self) -> Self {
        self.dir = None;
        self
    }

    /// Messages of history fed to the composer per turn.
    pub fn history_window(mut self, n: usize) -> Self {
        self.config.history_window = n;
        self
    }

    /// How long a `dedup_key` answers with its stored response (default 24 h).
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.config.dedup_window = window;
        self
    }

    /// How long traces are kept (default 30 days).
    pub fn trace_retention(mut self, retention: Duration) -> Self {
        self.config.trace_retention = retention;
        self
    }

    /// Serve inbound channel webhooks (the reference's `BRAIN_WEBHOOK_ENABLED` deployment flag).
    pub fn webhooks_enabled(mut self, enabled: bool) -> Self {
        self.config.webhooks_enabled = enabled;
        self
    }

    /// The operator token that gates the admin routes of [`Engine::handle_http`]. Only its
    /// SHA-256 is kept, in memory; it is never written to disk.
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token_hash = Some(crate::access::sha256_hex(token.as_bytes()));
        self
    }

    /// Fuse dense retrieval from this embedder with BM25 (chunks without a vector are embedded
    /// when the engine opens, with no progress; use [`Engine::set_embedder`] for progress).
    pub fn embedder(mut self, embedder: Arc<dyn crate::Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// A local model the router may send turns to (see [`crate::RoutePolicy`]).
    pub fn local_model(mut self, model: Arc<dyn crate::Generator>) -> Self {
        self.generators.local = Some(model);
        self
    }

    /// How turns are routed (default: [`crate::RoutePolicy::default`]).
    pub fn route_policy(mut self, policy: crate::RoutePolicy) -> Self {
        self.generators.policy = policy;
        self
    }

    /// Replace the default [`GroundedComposer`].
    pub fn composer(mut self, composer: impl Composer + 'static) -> Self {
        self.composer = Arc::new(composer);
        self
    }

    /// Opens the engine.
    ///
    /// # Errors
    /// `Storage` if the directory or database cannot be opened or migrated; `Retrieval` if the
    /// index cannot be opened.
    pub fn open(self) -> Result<Engine> {
        let (store, retriever, created) = match &self.dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::new(crate::ErrorKind::Storage, format!("cannot create data directory {}: {e}", dir.display()))
                        .with_source(e)
                })?;
                let store = Store::open(&dir.join("brain.db"))?;
                let (retriever, created) = Retriever::open(Some(&dir.join("index")))?;
                (store, retriever, created)
            }
            None => {
                let store = Store::open_in_memory()?;
                let (retriever, created) = Retriever::open(None)?;
                (store, retriever, created)
            }
        };
        let mut inner = Inner {
            store,
            retriever,
            composer: std::sync::RwLock::new(self.composer),
            vectors: crate::retrieval::VectorIndex::new(None),
            generators: std::sync::RwLock::new(self.generators),
            config: self.config,
            rebuilt_index: false,
            rate_limiter: crate::access::RateLimiter::new(),
            admin_token_hash: self.admin_token_hash,
            turns: AtomicU64::new(0),
            tools: crate::tools::ToolRegistry::default(),
            planner: Arc::new(crate::tools::planner::RulePlanner),
        };
        for tool in crate::tools::builtins::all() {
            inner.tools.register(tool)?;
        }
        inner.store.purge(inner.config.trace_retention.as_millis() as i64)?;
        // The index is derived data: if it is missing or out of step with brain.db, rebuild it.
        let chunks = inner.store.chunk_count()?;
        if chunks != inner.retriever.num_docs() || (created && chunks > 0) {
            inner.rebuild_index()?;
            inner.rebuilt_index = true;
        }
        let engine = Engine { inner: Arc::new(inner) };
        if let Some(e) = self.embedder {
            engine.set_embedder(Some(e), &mut |_| {})?;
        }
        Ok(engine)
    }
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) retriever: Retriever,
    pub(crate) composer: std::sync::RwLock<Arc<dyn Composer>>,
    pub(crate) vectors: crate::retrieval::VectorIndex,
    pub(crate) generators: std::sync::RwLock<crate::router::Generators>,
    pub(crate) config: Config,
    rebuilt_index: bool,
    pub(crate) rate_limiter: crate::access::RateLimiter,
    pub(crate) admin_token_hash: Option<String>,
    turns: AtomicU64,
    pub(crate) tools: crate::tools::ToolRegistry,
    pub(crate) planner: Arc<dyn crate::tools::planner::Planner>,
}

impl Inner {
    /// Housekeeping every 1,000 turns: expired traces and dedup rows go.
    fn after_turn(&self) {
        if self.turns.fetch_add(1, Ordering::Relaxed) % 1000 == 999 {
            let _ = self.store.purge(self.config.trace_retention.as_millis() as i64);
        }
    }
}

/// An embedded Brain: tenants, their knowledge, and the `respond` turn.
///
/// Cheap to clone (an `Arc`); share it across threads freely — turns run concurrently.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// The outcome of a keyed turn: the result, and the key's rate-limit state whenever the key was
/// recognised (so a transport can send `X-RateLimit-*` on errors too).
#[derive(Debug)]
pub struct KeyedOutcome {
    /// The response or the error (errors carry `request_id` and, for 429, `retry_after`).
    pub result: Result<RespondResponse>,
    /// Limit, remaining and reset of the key's current window.
    pub rate_limit: Option<crate::access::RateLimit>,
}

/// An authenticated API key.
pub(crate) struct Authenticated {
    pub tenant_id: String,
    pub key: crate::turn::KeyAuth,
    pub scopes: Vec<String>,
}

/// Result of [`Engine::marketplace_apply`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Vertical key.
    pub key: String,
    /// Version now applied.
    pub version: u32,
    /// Version applied before, if this vertical was.
    pub previous_version: Option<u32>,
    /// `installed`, `updated` or `unchanged`.
    pub status: String,
    /// Documents in the pack.
    pub documents: usize,
    /// Catalog items in the pack.
    pub catalog_items: usize,
}

/// Result of [`Engine::ingest_path`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Files read.
    pub files: usize,
    /// Documents new to the tenant.
    pub added: usize,
    /// Documents whose content changed (their chunks were replaced).
    pub updated: usize,
    /// Documents whose content had not changed (skipped).
    pub unchanged: usize,
    /// Documents removed because their file is no longer in the ingested folder.
    pub removed: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Catalog items written.
    pub catalog_items: usize,
    /// Chunks embedded (0 without an embedder, or when none changed).
    pub embedded: usize,
}

/// Progress of a long operation, for progress bars.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress<'a> {
    /// Items done.
    pub done: usize,
    /// Items in all.
    pub total: usize,
    /// What is being worked on.
    pub item: &'a str,
}

/// One conversation as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// Channel.
    pub channel: String,
    /// Participant id.
    pub channel_user_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
    /// Messages stored (user and assistant).
    pub messages: u64,
    /// Text of the last message.
    pub last_message: String,
}

/// Counts that describe an engine's state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineStats {
    /// Tenants.
    pub tenants: usize,
    /// Retrieval chunks in brain.db.
    pub chunks: u64,
    /// Chunks in the tantivy index.
    pub indexed_chunks: u64,
    /// Whether opening the engine had to rebuild the index from brain.db.
    pub rebuilt_index_on_open: bool,
}

impl Engine {
    /// A builder with the default settings and the [`GroundedComposer`].
    pub fn builder() -> EngineBuilder {
        EngineBuilder { dir: None, config: Config::default(), composer: Arc::new(GroundedComposer), admin_token_hash: None, embedder: None, generators: Default::default() }
    }

    /// Creates or opens the data directory `dir` (`dir/brain.db`, `dir/index/`).
    ///
    /// # Errors
    /// `Storage` or `Retrieval` when the files cannot be opened.
    pub fn open(dir: impl AsRef<Path>) -> Result<Engine> {
        Engine::builder().data_dir(dir).open()
    }

    /// An engine that keeps everything in memory.
    ///
    /// # Errors
    /// `Storage` if SQLite cannot start (out of memory).
    pub fn open_in_memory() -> Result<Engine> {
        Engine::builder().in_memory().open()
    }

    /// Runs one conversational turn for `tenant_id`, as a trusted in-process host (no key, no
    /// rate limit). A `dedup_key` is honoured exactly as on the keyed path.
    ///
    /// # Errors
    /// `BadRequest` for an invalid request (message names the field) or a `dedup_key` reused for
    /// a different request; `NotFound` if the tenant does not exist or has no persona;
    /// `Storage`/`Retrieval` on internal failures. Every error carries the request id
    /// ([`Error::request_id`]).
    pub fn respond(&self, tenant_id: &str, request: &RespondRequest) -> Result<RespondResponse> {
        let out = crate::turn::run(self, tenant_id, request, None, crate::contract::new_request_id());
        self.inner.after_turn();
        out.result
    }

    /// Like [`Engine::respond`], and says whether the response is a replay of an earlier request
    /// with the same `dedup_key` (then the turn did not run again).
    ///
    /// # Errors
    /// As [`Engine::respond`].
    pub fn respond_once(&self, tenant_id: &str, request: &RespondRequest) -> Result<(RespondResponse, bool)> {
        let out = crate::turn::run(self, tenant_id, request, None, crate::contract::new_request_id());
        self.inner.after_turn();
        out.result.map(|r| (r, out.replayed))
    }

    /// Runs a turn authenticated by an `Authorization` header value (`Bearer pk_live_...`): the
    /// key names the tenant, needs the `respond` scope, and is rate limited per minute.
    ///
    /// The outcome carries the rate-limit state whenever the key was recognised.
    pub fn respond_with_key(&self, authorization: Option<&str>, request: &RespondRequest) -> KeyedOutcome {
        let request_id = crate::contract::new_request_id();
        let auth = match self.authenticate(authorization, "respond", &request_id) {
            Ok(a) => a,
            Err(e) => return KeyedOutcome { result: Err(e.with_request_id(request_id)), rate_limit: None },
        };
        let out = crate::turn::run(self, &auth.tenant_id, request, Some(&auth.key), request_id);
        self.inner.after_turn();
        KeyedOutcome { result: out.result, rate_limit: out.rate_limit }
    }

    /// Runs a turn from a JSON body and returns `(http_status, json)` exactly as the wire contract:
    /// the response object on success, the error body otherwise.
    pub fn respond_json(&self, tenant_id: &str, body: &str) -> (u16, String) {
        let outcome = RespondRequest::from_json(body)
            .map_err(|e| e.with_request_id(crate::contract::new_request_id()))
            .and_then(|req| self.respond(tenant_id, &req));
        match outcome {
            Ok(resp) => (200, serde_json::to_string(&resp).unwrap_or_default()),
            Err(e) => {
                let body = ErrorBody::from_error(&e, &crate::contract::new_request_id());
                (e.http_status(), serde_json::to_string(&body).unwrap_or_default())
            }
        }
    }

    /// The stored trace of a turn, as JSON.
    ///
    /// # Errors
    /// `NotFound` for an unknown request id; `Storage` on failure.
    pub fn trace(&self, request_id: &str) -> Result<serde_json::Value> {
        let json = self
            .inner
            .store
            .trace(request_id)?
            .ok_or_else(|| Error::not_found(format!("no trace for request id {request_id:?}")))?;
        serde_json::from_str(&json).map_err(|e| Error::new(crate::ErrorKind::Storage, format!("stored trace is corrupt: {e}")))
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Replaces the composer for the turns that start from now on.
    pub fn set_composer(&self, composer: Arc<dyn Composer>) {
        if let Ok(mut c) = self.inner.composer.write() {
            *c = composer;
        }
    }

    /// Composes replies with a host's text generator (grounded, rail-checked, with the grounded
    /// composer as fallback). See [`crate::GeneratorComposer`].
    pub fn set_generator(&self, generator: Arc<dyn crate::Generator>) {
        if let Ok(mut g) = self.inner.generators.write() {
            g.host = Some(generator);
        }
    }

    /// Removes the host generator set by [`Engine::set_generator`].
    pub fn clear_generator(&self) {
        if let Ok(mut g) = self.inner.generators.write() {
            g.host = None;
        }
    }

    /// Runs a turn and hands the reply to `on_delta` in sentence-sized pieces, in order, then
    /// returns the whole response. The output rails run before any text leaves the engine, so
    /// a delta is never retracted. `on_delta` returning `false` stops the deltas (the turn is
    /// already complete and stored).
    ///
    /// # Errors
    /// As [`Engine::respond`].
    pub fn respond_streaming(&self, tenant_id: &str, request: &RespondRequest, on_delta: &mut dyn FnMut(&str) -> bool) -> Result<RespondResponse> {
        let response = self.respond(tenant_id, request)?;
        let pieces = crate::text::sentences(&response.response);
        for (i, piece) in pieces.iter().enumerate() {
            let delta = if i == 0 { piece.clone() } else { format!(" {piece}") };
            if !on_delta(&delta) {
                break;
            }
        }
        Ok(response)
    }

    // ----- guardrails -----

    /// Runs the tenant's input rails on a message without running a turn (for hosts that put
    /// Brain's guardrails in front of their own model).
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant or one without a persona.
    pub fn check_message(&self, tenant_id: &str, message: &str) -> Result<crate::guardrails::InputCheck> {
        Ok(crate::guardrails::check_input(&self.persona(tenant_id)?, message, 0))
    }

    /// Runs the tenant's output rails on a candidate reply, grounded against `sources` (texts the
    /// reply may state facts from) and the tenant's catalog.
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant or one without a persona.
    pub fn check_reply(&self, tenant_id: &str, reply: &str, sources: &[&str]) -> Result<crate::guardrails::OutputCheck> {
        let persona = self.persona(tenant_id)?;
        let catalog = self.catalog(tenant_id)?;
        let src = crate::guardrails::OutputSources { texts: sources.to_vec(), catalog: &catalog, tool_results: vec![] };
        Ok(crate::guardrails::check_output(&persona, reply, &src))
    }

    // ----- tools -----

    /// Registers a host tool. Enable it for a tenant by listing its name in the persona's
    /// `tools`; give it [`crate::Tool::triggers`] so the planner knows when to call it.
    ///
    /// # Errors
    /// `BadRequest` for a name that is not `namespace.verb`, a schema that is not an object
    /// schema, or a name already registered.
    pub fn register_tool(&self, tool: crate::tools::Tool) -> Result<()> {
        self.inner.tools.register(tool)
    }

    /// Every registered tool, built-in and host.
    pub fn tools(&self) -> Vec<crate::tools::ToolInfo> {
        self.inner.tools.list().iter().map(|t| t.info()).collect()
    }

    /// Runs one tool directly (operators, tests, bindings), under the same rails as a turn:
    /// allowlist of the tenant's persona, schema check, timeout, panic catching.
    /// `confirmed` stands for the customer's confirmation of a side effect.
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant or a tenant without persona.
    pub fn call_tool(&self, tenant_id: &str, channel: crate::Channel, channel_user_id: &str, name: &str, args: serde_json::Value, confirmed: bool) -> Result<crate::tools::ToolOutcome> {
        let persona = self.persona(tenant_id)?;
        let ctx = crate::tools::ToolContext {
            tenant_id: tenant_id.to_string(),
            channel,
            channel_user_id: channel_user_id.to_string(),
            request_id: crate::contract::new_request_id(),
            engine: self.clone(),
        };
        Ok(crate::tools::dispatch(&self.inner.tools, &persona.tools, &ctx, name, args, confirmed))
    }

    /// Conversations handed to a human (open ones only unless `all`), newest first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn handoffs(&self, tenant_id: &str, all: bool) -> Result<Vec<serde_json::Value>> {
        self.inner.store.tool_rows("handoffs", tenant_id, !all)
    }

    /// Gives a handed-off conversation back to the bot.
    ///
    /// # Errors
    /// `NotFound` when the conversation has no open handoff.
    pub fn release_handoff(&self, tenant_id: &str, channel: crate::Channel, channel_user_id: &str) -> Result<()> {
        if self.inner.store.release_handoff(tenant_id, channel.as_str(), channel_user_id)? {
            Ok(())
        } else {
            Err(Error::not_found(format!("no open handoff for {channel}:{channel_user_id} of tenant {tenant_id:?}")))
        }
    }

    /// The tenant's orders, newest first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn orders(&self, tenant_id: &str) -> Result<Vec<serde_json::Value>> {
        self.inner.store.tool_rows("orders", tenant_id, false)
    }

    /// The tenant's bookings, newest first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn bookings(&self, tenant_id: &str) -> Result<Vec<serde_json::Value>> {
        self.inner.store.tool_rows("bookings", tenant_id, false)
    }

    /// The tenant's captured leads, newest first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn leads(&self, tenant_id: &str) -> Result<Vec<serde_json::Value>> {
        self.inner.store.tool_rows("leads", tenant_id, false)
    }

    // ----- access -----

    /// Checks an `Authorization` header value for a key holding `scope`, counts the call, and
    /// resolves the key's tenant and rate limit. A failure is traced under `request_id`.
    pub(crate) fn authenticate(&self, authorization: Option<&str>, scope: &str, request_id: &str) -> Result<Authenticated> {
        let mut prefix_seen = None;
        let mut tenant_seen = String::new();
        let result = (|| {
            let (prefix, key) = match crate::access::parse_authorization(authorization)? {
                crate::access::Bearer::Key { prefix, key } => (prefix, key),
                crate::access::Bearer::Token(_) => {
                    return Err(Error::new(crate::ErrorKind::Unauthorized, "this route needs an API key: `Authorization: Bearer pk_live_...`"));
                }
            };
            prefix_seen = Some(prefix.to_string());
            let unknown = || Error::new(crate::ErrorKind::Unauthorized, format!("unknown API key pk_live_{prefix}_…"));
            let row = self.inner.store.key(prefix)?.ok_or_else(unknown)?;
            if !crate::access::ct_eq(crate::access::sha256_hex(key.as_bytes()).as_bytes(), row.secret_hash.as_bytes()) {
                return Err(unknown());
            }
            tenant_seen = row.info.tenant_id.clone();
            if row.info.revoked_at.is_some() {
                return Err(Error::new(crate::ErrorKind::Forbidden, format!("API key pk_live_{prefix}_… has been revoked; issue a new one")));
            }
            if !row.info.scopes.iter().any(|s| s == scope) {
                return Err(Error::new(
                    crate::ErrorKind::Forbidden,
                    format!("API key pk_live_{prefix}_… lacks the `{scope}` scope (it has: {})", row.info.scopes.join(", ")),
                ));
            }
            self.inner.store.touch_key(prefix)?;
            let tenant = self.inner.store.tenant(&row.info.tenant_id)?.ok_or_else(|| {
                Error::not_found(format!("the tenant {:?} of API key pk_live_{prefix}_… does not exist", row.info.tenant_id))
            })?;
            let limit = row.info.rate_limit_rpm.unwrap_or_else(|| tenant.plan.requests_per_minute());
            Ok(Authenticated {
                tenant_id: row.info.tenant_id,
                key: crate::turn::KeyAuth {
                    prefix: prefix.to_string(),
                    limit,
                    tool_scopes: row.info.scopes.iter().filter_map(|s| s.strip_prefix("tools:").map(str::to_string)).collect(),
                },
                scopes: row.info.scopes,
            })
        })();
        if let Err(e) = &result {
            let trace = serde_json::json!({
                "request_id": request_id,
                "tenant_id": tenant_seen,
                "outcome": e.code(),
                "error": e.message(),
                "auth": { "method": "api_key", "key_prefix": prefix_seen, "outcome": e.code() },
            });
            let _ = self.inner.store.put_trace(request_id, &tenant_seen, &trace.to_string());
        }
        result
    }

    /// Issues an API key for a tenant. The plaintext is in the result once; only its SHA-256 is
    /// stored. `scopes` empty means `respond`; `rate_limit_rpm` overrides the plan's limit.
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant; `BadRequest` for an unknown scope or a zero limit.
    pub fn issue_key(&self, tenant_id: &str, label: &str, scopes: &[&str], rate_limit_rpm: Option<u32>) -> Result<crate::access::IssuedKey> {
        self.tenant_row(tenant_id)?;
        let scopes = crate::access::normalize_scopes(scopes)?;
        if rate_limit_rpm == Some(0) {
            return Err(Error::bad_request("rate_limit_rpm must be at least 1"));
        }
        loop {
            let (prefix, key) = crate::access::generate_key()?;
            let info = crate::access::ApiKeyInfo {
                prefix,
                tenant_id: tenant_id.to_string(),
                label: label.to_string(),
                scopes: scopes.clone(),
                rate_limit_rpm,
                created_at: crate::store::now_millis(),
                last_used_at: None,
                call_count: 0,
                revoked_at: None,
            };
            let row = crate::store::KeyRow { secret_hash: crate::access::sha256_hex(key.as_bytes()), info };
            // A prefix collision (1 in 2^32 per key) just draws again.
            if self.inner.store.insert_key(&row)? {
                return Ok(crate::access::IssuedKey { api_key: key, key: row.info });
            }
        }
    }

    /// API keys (of one tenant, or all), revoked ones included, with usage.
    ///
    /// # Errors
    /// `Storage`.
    pub fn keys(&self, tenant_id: Option<&str>) -> Result<Vec<crate::access::ApiKeyInfo>> {
        self.inner.store.keys(tenant_id)
    }

    /// Revokes a key by its prefix (the 8 hex characters after `pk_live_`, or the whole key).
    /// Revoking twice is harmless; the key stays listed.
    ///
    /// # Errors
    /// `NotFound` for an unknown prefix.
    pub fn revoke_key(&self, prefix: &str) -> Result<()> {
        let prefix = prefix.strip_prefix("pk_live_").unwrap_or(prefix);
        let prefix = prefix.split('_').next().unwrap_or(prefix);
        match self.inner.store.revoke_key(prefix)? {
            Some(_) => Ok(()),
            None => Err(Error::not_found(format!("no API key with prefix {prefix:?}"))),
        }
    }

    pub(crate) fn admin_token_matches(&self, token: &str) -> Option<bool> {
        self.inner
            .admin_token_hash
            .as_ref()
            .map(|h| crate::access::ct_eq(crate::access::sha256_hex(token.as_bytes()).as_bytes(), h.as_bytes()))
    }

    // ----- tenants -----

    /// Creates a tenant.
    ///
    /// # Errors
    /// `BadRequest` for an invalid id or one that exists.
    pub fn create_tenant(&self, id: &str, name: &str, plan: Plan) -> Result<()> {
        validate_tenant_id(id)?;
        self.inner.store.create_tenant(id, if name.is_empty() { id } else { name }, plan)
    }

    /// Every tenant, by id.
    ///
    /// # Errors
    /// `Storage`.
    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        self.inner.store.list_tenants()
    }

    /// Deletes a tenant and everything it owns (documents, index entries, conversations, traces).
    ///
    /// # Errors
    /// `NotFound` if it does not exist.
    pub fn delete_tenant(&self, id: &str) -> Result<()> {
        let mut batch = self.inner.retriever.batch()?;
        match self.inner.store.delete_tenant(id) {
            Ok(true) => {
                batch.delete_tenant(id);
                batch.commit()?;
                self.inner.vectors.invalidate(id);
                Ok(())
            }
            Ok(false) => {
                batch.rollback()?;
                Err(Error::not_found(format!("tenant {id:?} does not exist")))
            }
            Err(e) => {
                batch.rollback()?;
                Err(e)
            }
        }
    }

    /// The tenant's persona.
    ///
    /// # Errors
    /// `NotFound` if the tenant does not exist or has no persona.
    pub fn persona(&self, tenant_id: &str) -> Result<Persona> {
        let t = self.tenant_row(tenant_id)?;
        t.persona.ok_or_else(|| Error::not_found(format!("tenant {tenant_id:?} has no persona yet")))
    }

    /// Sets the tenant's persona (for example from a TOML file of the user's own, see
    /// [`Persona::from_toml_str`]); its business facts become retrievable.
    ///
    /// # Errors
    /// `BadRequest` for an invalid persona; `NotFound` for an unknown tenant.
    pub fn set_persona(&self, tenant_id: &str, persona: &Persona) -> Result<()> {
        persona.validate()?;
        self.tenant_row(tenant_id)?;
        self.write_knowledge(tenant_id, |store, tx, batch| {
            store.set_persona(tx, tenant_id, persona)?;
            put_facts(store, tx, batch, tenant_id, persona)
        })
    }

    fn tenant_row(&self, tenant_id: &str) -> Result<crate::store::TenantRow> {
        self.inner.store.tenant(tenant_id)?.ok_or_else(|| Error::not_found(format!("tenant {tenant_id:?} does not exist")))
    }

    // ----- marketplace -----

    /// The built-in verticals.
    ///
    /// # Errors
    /// `Internal` if an embedded pack is broken.
    pub fn marketplace(&self) -> Result<Vec<VerticalInfo>> {
        crate::marketplace::builtin_verticals()
    }

    /// Loads the built-in vertical `key` into a tenant: persona, knowledge base, catalog and tool
    /// config. Re-applying the same version changes nothing; a newer version (or another vertical)
    /// replaces the previous pack's content. Documents the tenant ingested itself are kept.
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant, or an unknown key (the message lists the valid keys).
    pub fn marketplace_apply(&self, tenant_id: &str, key: &str) -> Result<ApplyReport> {
        let pack = VerticalPack::builtin(key)?;
        self.apply_pack(tenant_id, &pack)
    }

    /// Applies a pack given as a value (the built-in ones, or a pack file of the user's own).
    ///
    /// # Errors
    /// As [`Engine::marketplace_apply`].
    pub fn apply_pack(&self, tenant_id: &str, pack: &VerticalPack) -> Result<ApplyReport> {
        self.tenant_row(tenant_id)?;
        let mut report = ApplyReport {
            key: pack.key.clone(),
            version: pack.version,
            previous_version: None,
            status: "installed".into(),
            documents: pack.documents.len(),
            catalog_items: pack.catalog.len(),
        };
        self.write_knowledge(tenant_id, |store, tx, batch| {
            let current = store.tenant_vertical(tx, tenant_id)?.unwrap_or((None, None));
            if current.0.as_deref() == Some(pack.key.as_str()) {
                report.previous_version = current.1;
                if current.1.is_some_and(|v| v >= pack.version) {
                    report.status = "unchanged".into();
                    report.version = current.1.unwrap_or(pack.version);
                    return Ok(());
                }
                report.status = "updated".into();
            }
            const SOURCE: &str = "vertical";
            // Documents: drop the previous pack's, write this pack's.
            let keep: std::collections::HashSet<&str> = pack.documents.iter().map(|d| d.id.as_str()).collect();
            for (doc_id, (source, _)) in store_doc_hashes(tx, tenant_id)? {
                if source == SOURCE && !keep.contains(doc_id.as_str()) {
                    store.delete_document(tx, tenant_id, &doc_id)?;
                    store.delete_chunks(tx, tenant_id, &doc_id)?;
                    batch.delete(tenant_id, &doc_id);
                }
            }
            for doc in &pack.documents {
                put_document(store, tx, batch, tenant_id, SOURCE, doc)?;
            }
            // Catalog.
            let skus: std::collections::HashSet<&str> = pack.catalog.iter().map(|c| c.sku.as_str()).collect();
            for sku in store.catalog_skus(tx, tenant_id, SOURCE)? {
                if !skus.contains(sku.as_str()) {
                    delete_item(store, tx, batch, tenant_id, &sku)?;
                }
            }
            for item in &pack.catalog {
                put_item(store, tx, batch, tenant_id, SOURCE, item)?;
            }
            store.set_vertical(tx, tenant_id, pack)?;
            put_facts(store, tx, batch, tenant_id, &pack.persona)
        })?;
        Ok(report)
    }

    // ----- knowledge -----

    /// Adds or replaces one knowledge-base document (visible to the next turn).
    ///
    /// # Errors
    /// `NotFound` for an unknown tenant; `BadRequest` for an empty id.
    pub fn put_document(&self, tenant_id: &str, doc: &Document) -> Result<()> {
        if doc.id.trim().is_empty() {
            return Err(Error::bad_request("document `id` must not be empty"));
        }
        self.tenant_row(tenant_id)?;
        self.write_knowledge(tenant_id, |store, tx, batch| put_document(store, tx, batch, tenant_id, "api", doc).map(|_| ()))
    }

    /// Deletes a knowledge-base document.
    ///
    /// # Errors
    /// `NotFound` if the tenant or the document does not exist.
    pub fn delete_document(&self, tenant_id: &str, doc_id: &str) -> Result<()> {
        self.write_knowledge(tenant_id, |store, tx, batch| {
            if !store.delete_document(tx, tenant_id, doc_id)? {
                return Err(Error::not_found(format!("tenant {tenant_id:?} has no document {doc_id:?}")));
            }
            store.delete_chunks(tx, tenant_id, doc_id)?;
            batch.delete(tenant_id, doc_id);
            Ok(())
        })
    }

    /// Adds or replaces catalog items.
    ///
    /// # Errors
    /// `BadRequest` for an invalid item; `NotFound` for an unknown tenant.
    pub fn put_catalog_items(&self, tenant_id: &str, items: &[CatalogItem]) -> Result<()> {
        for i in items {
            i.validate()?;
        }
        self.tenant_row(tenant_id)?;
        self.write_knowledge(tenant_id, |store, tx, batch| {
            for item in items {
                put_item(store, tx, batch, tenant_id, "api", item)?;
            }
            Ok(())
        })
    }

    /// The tenant's catalog.
    ///
    /// # Errors
    /// `Storage`.
    pub fn catalog(&self, tenant_id: &str) -> Result<Vec<CatalogItem>> {
        self.inner.store.catalog(tenant_id)
    }

    /// Ingests a file or a directory tree: Markdown and text files become documents (chunked),
    /// CSV and JSON files catalog items. Incremental: an unchanged file is skipped, a changed one
    /// has its chunks replaced, and a file that left an ingested folder has its content removed.
    /// Documents are identified by their canonical path (`file:/abs/path.md`). All files are
    /// parsed before anything is written, and the write is one transaction: a bad file changes
    /// nothing.
    ///
    /// # Errors
    /// `BadRequest` naming the file (and line) that cannot be read; `NotFound` for an unknown tenant.
    pub fn ingest_path(&self, tenant_id: &str, path: impl AsRef<Path>, progress: &mut dyn FnMut(Progress<'_>)) -> Result<IngestReport> {
        self.tenant_row(tenant_id)?;
        let (root, files) = knowledge::ingest_files(path.as_ref())?;
        let total = files.len() * 2;
        let mut parsed = Vec::with_capacity(files.len());
        for (i, (file, rel)) in files.iter().enumerate() {
            progress(Progress { done: i, total, item: rel });
            parsed.push((rel.clone(), knowledge::file_source(file), knowledge::parse_file(file, rel)?));
        }
        let mut report = IngestReport { files: files.len(), ..Default::default() };
        let hashes = self.inner.store.document_hashes(tenant_id)?;
        self.write_knowledge(tenant_id, |store, tx, batch| {
            for (i, (rel, source, p)) in parsed.iter().enumerate() {
                progress(Progress { done: files.len() + i, total, item: rel });
                match p {
                    Parsed::Document(doc) => {
                        let hash = knowledge::content_hash(&[&doc.title, &doc.body]);
                        match hashes.get(&doc.id) {
                            Some((_, h)) if *h == hash => report.unchanged += 1,
                            Some(_) => {
                                report.chunks += put_document(store, tx, batch, tenant_id, source, doc)?;
                                report.updated += 1;
                            }
                            None => {
                                report.chunks += put_document(store, tx, batch, tenant_id, source, doc)?;
                                report.added += 1;
                            }
                        }
                    }
                    Parsed::Catalog(items) => {
                        let skus: std::collections::HashSet<&str> = items.iter().map(|c| c.sku.as_str()).collect();
                        for sku in store.catalog_skus(tx, tenant_id, source)? {
                            if !skus.contains(sku.as_str()) {
                                delete_item(store, tx, batch, tenant_id, &sku)?;
                            }
                        }
                        for item in items {
                            put_item(store, tx, batch, tenant_id, source, item)?;
                        }
                        report.catalog_items += items.len();
                    }
                }
            }
            // Files that were under this folder before and are gone now: their content goes too.
            if root.is_dir() {
                let prefix = format!("{}/", knowledge::file_source(&root));
                let present: std::collections::HashSet<&str> = parsed.iter().map(|(_, s, _)| s.as_str()).collect();
                for (doc_id, (source, _)) in &hashes {
                    if source.starts_with(&prefix) && !present.contains(source.as_str()) {
                        store.delete_document(tx, tenant_id, doc_id)?;
                        store.delete_chunks(tx, tenant_id, doc_id)?;
                        batch.delete(tenant_id, doc_id);
                        report.removed += 1;
                    }
                }
                for (sku, source) in store.catalog_by_source_prefix(tx, tenant_id, &prefix)? {
                    if !present.contains(source.as_str()) {
                        delete_item(store, tx, batch, tenant_id, &sku)?;
                    }
                }
            }
            Ok(())
        })?;
        report.embedded = self.embed_tenant(tenant_id, &mut |p| progress(p))?;
        progress(Progress { done: total, total, item: "done" });
        Ok(report)
    }

    /// Every conversation of a tenant, most recent first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn conversations(&self, tenant_id: &str) -> Result<Vec<ConversationSummary>> {
        self.inner.store.conversations(tenant_id)
    }

    /// All messages of one conversation, oldest first.
    ///
    /// # Errors
    /// `Storage`.
    pub fn messages(&self, tenant_id: &str, channel: crate::Channel, channel_user_id: &str) -> Result<Vec<crate::Message>> {
        self.inner.store.messages(tenant_id, channel.as_str(), channel_user_id)
    }

    /// Counts describing the engine.
    ///
    /// # Errors
    /// `Storage`.
    pub fn stats(&self) -> Result<EngineStats> {
        Ok(EngineStats {
            tenants: self.inner.store.list_tenants()?.len(),
            chunks: self.inner.store.chunk_count()?,
            indexed_chunks: self.inner.retriever.num_docs(),
            rebuilt_index_on_open: self.inner.rebuilt_index,
        })
    }

    /// The data directory's database file, if the engine is on disk.
    pub fn database_path(&self) -> Option<&Path> {
        self.inner.store.path()
    }

    /// One SQLite transaction and one index batch; the index commits only after SQLite does.
    /// The tenant's vectors are invalidated; with an embedder, new chunks are embedded right away
    /// (a failure there leaves the knowledge stored and retrieval on BM25 until the next try).
    fn write_knowledge(
        &self,
        tenant_id: &str,
        f: impl FnOnce(&Store, &rusqlite::Transaction<'_>, &mut IndexBatch<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut batch = self.inner.retriever.batch()?;
        let store = &self.inner.store;
        match store.write(|tx| f(store, tx, &mut batch)) {
            Ok(()) => {
                batch.commit()?;
                self.inner.vectors.invalidate(tenant_id);
                Ok(())
            }
            Err(e) => {
                batch.rollback()?;
                Err(e)
            }
        }
    }

    /// Embeds the tenant's chunks that have no vector yet (no-op without an embedder).
    /// Returns how many were embedded.
    ///
    /// # Errors
    /// `Model` if the embedder fails; `Storage`.
    pub fn embed_tenant(&self, tenant_id: &str, progress: &mut dyn FnMut(Progress<'_>)) -> Result<usize> {
        self.inner.vectors.sync_tenant(&self.inner.store, tenant_id, &mut |done, total| progress(Progress { done, total, item: "embedding chunks" }))
    }

    /// Sets (or removes) the embedder whose vectors are fused with BM25 at retrieval, and embeds
    /// every tenant's chunks that have no vector of it yet. Returns how many were embedded.
    ///
    /// # Errors
    /// `Model` if the embedder fails (it stays set; turns then fall back to BM25 alone).
    pub fn set_embedder(&self, embedder: Option<Arc<dyn crate::Embedder>>, progress: &mut dyn FnMut(Progress<'_>)) -> Result<usize> {
        self.inner.vectors.set_embedder(embedder);
        let mut n = 0;
        for t in self.inner.store.list_tenants()? {
            n += self.embed_tenant(&t.id, progress)?;
        }
        // Vectors of chunks that no longer exist anywhere go.
        if let Some(e) = self.inner.vectors.embedder() {
            let keep = self.inner.store.all_chunks()?.iter().map(|(_, c)| crate::retrieval::chunk_hash(c)).collect();
            self.inner.store.prune_vectors(e.name(), &keep)?;
        }
        Ok(n)
    }

    /// Sets (or removes) the local model the router may send turns to.
    pub fn set_local_model(&self, model: Option<Arc<dyn crate::Generator>>) {
        if let Ok(mut g) = self.inner.generators.write() {
            g.local = model;
        }
    }

    /// Sets how turns are routed between the grounded composer, the local model and the host
    /// generator.
    pub fn set_route_policy(&self, policy: crate::RoutePolicy) {
        if let Ok(mut g) = self.inner.generators.write() {
            g.policy = policy;
        }
    }

    /// The routing policy in force.
    pub fn route_policy(&self) -> crate::RoutePolicy {
        self.inner.generators.read().map(|g| g.policy.clone()).unwrap_or_default()
    }
}

impl Inner {
    fn rebuild_index(&self) -> Result<()> {
        let chunks = self.store.all_chunks()?;
        let mut batch = self.retriever.batch()?;
        batch.delete_all()?;
        let mut i = 0;
        while i < chunks.len() {
            let (tenant, first) = &chunks[i];
            let mut j = i;
            let mut group: Vec<ChunkRow> = Vec::new();
            while j < chunks.len() && chunks[j].0 == *tenant && chunks[j].1.doc_id == first.doc_id {
                group.push(chunks[j].1.clone());
                j += 1;
            }
            batch.put(tenant, &first.doc_id, &group)?;
            i = j;
        }
        batch.commit()
    }
}

fn store_doc_hashes(tx: &rusqlite::Transaction<'_>, tenant: &str) -> Result<Vec<(String, (String, String))>> {
    let mut st = tx.prepare("SELECT doc_id, source, content_hash FROM documents WHERE tenant_id = ?1")?;
    let rows = st.query_map([tenant], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn put_document(store: &Store, tx: &rusqlite::Transaction<'_>, batch: &mut IndexBatch<'_>, tenant: &str, source: &str, doc: &Document) -> Result<usize> {
    let hash = knowledge::content_hash(&[&doc.title, &doc.body]);
    store.put_document(tx, tenant, source, doc, &hash)?;
    let chunks = knowledge::chunk_document(doc);
    store.put_chunks(tx, tenant, &doc.id, &chunks)?;
    batch.put(tenant, &doc.id, &chunks)?;
    Ok(chunks.len())
}

fn put_item(store: &Store, tx: &rusqlite::Transaction<'_>, batch: &mut IndexBatch<'_>, tenant: &str, source: &str, item: &CatalogItem) -> Result<()> {
    store.put_catalog_item(tx, tenant, source, item)?;
    let chunk = knowledge::catalog_chunk(item);
    store.put_chunks(tx, tenant, &chunk.doc_id, std::slice::from_ref(&chunk))?;
    batch.put(tenant, &chunk.doc_id, std::slice::from_ref(&chunk))
}

fn delete_item(store: &Store, tx: &rusqlite::Transaction<'_>, batch: &mut IndexBatch<'_>, tenant: &str, sku: &str) -> Result<()> {
    store.delete_catalog_item(tx, tenant, sku)?;
    let doc_id = format!("catalog:{sku}");
    store.delete_chunks(tx, tenant, &doc_id)?;
    batch.delete(tenant, &doc_id);
    Ok(())
}

fn put_facts(store: &Store, tx: &rusqlite::Transaction<'_>, batch: &mut IndexBatch<'_>, tenant: &str, persona: &Persona) -> Result<()> {
    let chunks = knowledge::fact_chunks(&persona.facts);
    let keep: std::collections::HashSet<&str> = chunks.iter().map(|c| c.doc_id.as_str()).collect();
    for old in store.chunk_doc_ids(tx, tenant, "fact")? {
        if !keep.contains(old.as_str()) {
            store.delete_chunks(tx, tenant, &old)?;
            batch.delete(tenant, &old);
        }
    }
    for ch in &chunks {
        store.put_chunks(tx, tenant, &ch.doc_id, std::slice::from_ref(ch))?;
        batch.put(tenant, &ch.doc_id, std::slice::from_ref(ch))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone>() {}

    #[test]
    fn engine_is_send_sync_and_clone() {
        assert_send_sync::<Engine>();
    }
}
