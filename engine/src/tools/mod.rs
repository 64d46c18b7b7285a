//! Tools: a typed registry, argument validation, and dispatch that turns every failure into a
//! graceful reply instead of a failed turn.
//!
//! A [`Tool`] has a namespaced name, a description, a JSON-Schema for its arguments, a result
//! description, a side-effect flag, a timeout and a handler. Built-in tools work over the tenant's
//! own data in SQLite (`builtins.rs`); hosts register their own with [`crate::Engine::register_tool`].
//! The planner (`planner.rs`) decides which tools a message needs; dispatch (here) enforces the
//! rails: only tools on the persona's allowlist run, side effects only after a confirmation turn,
//! arguments are schema-checked, and handler errors, panics and timeouts become outcomes.

pub(crate) mod builtins;
pub(crate) mod planner;
mod schema;
pub(crate) mod slots;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::Channel;
use crate::engine::Engine;
use crate::error::{Error, Result};

/// The default time a tool may run before its call is abandoned.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(5);

/// A tool handler: arguments in (already validated against the schema), a JSON result out.
pub type ToolHandler = Arc<dyn Fn(&ToolContext, &Value) -> Result<Value> + Send + Sync>;

/// A tool the engine can call.
#[derive(Clone)]
pub struct Tool {
    name: String,
    description: String,
    schema: Value,
    result: Value,
    side_effect: bool,
    timeout: Duration,
    triggers: Vec<String>,
    handler: ToolHandler,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool").field("name", &self.name).field("side_effect", &self.side_effect).finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool named `namespace.verb` whose arguments follow the JSON-Schema `schema`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        schema: Value,
        handler: impl Fn(&ToolContext, &Value) -> Result<Value> + Send + Sync + 'static,
    ) -> Tool {
        Tool {
            name: name.into(),
            description: description.into(),
            schema,
            result: Value::Null,
            side_effect: false,
            timeout: DEFAULT_TOOL_TIMEOUT,
            triggers: Vec::new(),
            handler: Arc::new(handler),
        }
    }

    /// Marks a tool that changes something (an order, a booking): it runs only after the customer
    /// confirms.
    pub fn side_effect(mut self, yes: bool) -> Tool {
        self.side_effect = yes;
        self
    }

    /// How long a call may run (default 5 s); a late call becomes a `timed_out` outcome.
    pub fn timeout(mut self, timeout: Duration) -> Tool {
        self.timeout = timeout;
        self
    }

    /// A description (JSON-Schema or prose) of the result.
    pub fn result_schema(mut self, result: Value) -> Tool {
        self.result = result;
        self
    }

    /// Phrases that make the deterministic planner pick this tool ("track my order"). Arguments
    /// are filled from slots whose names match schema properties (`guests`, `date`, `email`, ...)
    /// and `message` receives the message text.
    pub fn triggers(mut self, phrases: &[&str]) -> Tool {
        self.triggers = phrases.iter().map(|p| p.to_lowercase()).collect();
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A listing of the tool.
    pub fn info(&self) -> ToolInfo {
        ToolInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            schema: self.schema.clone(),
            result: self.result.clone(),
            side_effect: self.side_effect,
            timeout_ms: self.timeout.as_millis() as u64,
        }
    }

    pub(crate) fn schema(&self) -> &Value {
        &self.schema
    }

    pub(crate) fn trigger_phrases(&self) -> &[String] {
        &self.triggers
    }

    pub(crate) fn is_side_effect(&self) -> bool {
        self.side_effect
    }
}

/// A registered tool as listed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// Namespaced name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON-Schema of its arguments.
    pub schema: Value,
    /// Description of its result.
    pub result: Value,
    /// Whether it changes something (needs a confirmation turn).
    pub side_effect: bool,
    /// Its timeout.
    pub timeout_ms: u64,
}

/// What a handler knows about the turn that called it.
#[derive(Clone)]
pub struct ToolContext {
    /// The tenant.
    pub tenant_id: String,
    /// The conversation's channel.
    pub channel: Channel,
    /// The conversation's participant.
    pub channel_user_id: String,
    /// The turn's request id.
    pub request_id: String,
    pub(crate) engine: Engine,
}

impl ToolContext {
    /// The engine (for tools that read the tenant's data).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// One tool call of a turn, as traced and as the composer reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolOutcome {
    /// Tool name.
    pub name: String,
    /// The arguments it was called with.
    pub arguments: Value,
    /// `ok`, `invalid_arguments`, `failed`, `panicked`, `timed_out`, `not_allowed`, `unknown_tool`.
    pub status: String,
    /// The result, when `ok`.
    pub result: Option<Value>,
    /// What went wrong otherwise.
    pub error: Option<String>,
    /// Wall time in microseconds.
    pub latency_us: u64,
}

impl ToolOutcome {
    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }

    /// Whether the handler was invoked (succeeded, failed, panicked or timed out).
    pub fn ran(&self) -> bool {
        matches!(self.status.as_str(), "ok" | "failed" | "panicked" | "timed_out")
    }
}

/// The engine's tools.
#[derive(Default)]
pub(crate) struct ToolRegistry {
    tools: RwLock<BTreeMap<String, Arc<Tool>>>,
}

fn valid_name(name: &str) -> bool {
    let mut parts = name.split('.');
    let ok_part = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    matches!((parts.next(), parts.next(), parts.next()), (Some(a), Some(b), None) if ok_part(a) && ok_part(b))
}

impl ToolRegistry {
    pub(crate) fn register(&self, tool: Tool) -> Result<()> {
        if !valid_name(&tool.name) {
            return Err(Error::bad_request(format!(
                "tool name {:?} is invalid: use `namespace.verb` in lowercase, digits and '_'",
                tool.name
            )));
        }
        if tool.schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Error::bad_request(format!("tool {}: its schema must be a JSON-Schema of type object", tool.name)));
        }
        let mut map = self.tools.write().map_err(|_| Error::internal("the tool registry was poisoned by a panic"))?;
        if map.contains_key(&tool.name) {
            return Err(Error::bad_request(format!("a tool named {} is already registered", tool.name)));
        }
        map.insert(tool.name.clone(), Arc::new(tool));
        Ok(())
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<Tool>> {
        self.tools.read().ok().and_then(|m| m.get(name).cloned())
    }

    pub(crate) fn list(&self) -> Vec<Arc<Tool>> {
        self.tools.read().map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// Tools with trigger phrases (host tools), for the planner: (name, triggers, schema, side effect).
    pub(crate) fn host_tools(&self) -> Vec<(String, Vec<String>, Value, bool)> {
        self.list()
            .iter()
            .filter(|t| !t.trigger_phrases().is_empty())
            .map(|t| (t.name.clone(), t.trigger_phrases().to_vec(), t.schema().clone(), t.is_side_effect()))
            .collect()
    }
}

/// Runs one tool call under the rails. Never fails: every problem is an outcome.
pub(crate) fn dispatch(registry: &ToolRegistry, allowed: &[String], ctx: &ToolContext, name: &str, args: Value, confirmed: bool) -> ToolOutcome {
    let start = Instant::now();
    let outcome = |status: &str, result: Option<Value>, error: Option<String>, args: Value| ToolOutcome {
        name: name.to_string(),
        arguments: args,
        status: status.to_string(),
        result,
        error,
        latency_us: start.elapsed().as_micros() as u64,
    };
    let Some(tool) = registry.get(name) else {
        return outcome("unknown_tool", None, Some(format!("no tool named {name} is registered")), args);
    };
    if !allowed.iter().any(|a| a == name) {
        return outcome("not_allowed", None, Some(format!("{name} is not on this persona's tool allowlist")), args);
    }
    if tool.side_effect && !confirmed {
        return outcome("not_allowed", None, Some(format!("{name} changes something and needs the customer's confirmation first")), args);
    }
    if let Err(e) = schema::validate(&tool.schema, &args) {
        return outcome("invalid_arguments", None, Some(e), args);
    }
    // The handler runs on its own thread so a slow one can be abandoned at its timeout; a panic
    // inside it is caught there.
    let (tx, rx) = std::sync::mpsc::channel();
    let (handler, ctx2, args2) = (tool.handler.clone(), ctx.clone(), args.clone());
    let spawned = std::thread::Builder::new().name(format!("brain-tool-{name}")).spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&ctx2, &args2)));
        let _ = tx.send(r);
    });
    if let Err(e) = spawned {
        return outcome("failed", None, Some(format!("could not start the tool: {e}")), args);
    }
    match rx.recv_timeout(tool.timeout) {
        Ok(Ok(Ok(result))) => outcome("ok", Some(result), None, args),
        Ok(Ok(Err(e))) => outcome("failed", None, Some(e.to_string()), args),
        Ok(Err(panic)) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            outcome("panicked", None, Some(format!("the tool panicked: {msg}")), args)
        }
        Err(_) => outcome("timed_out", None, Some(format!("the tool did not answer within {} ms", tool.timeout.as_millis())), args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced() {
        assert!(valid_name("commerce.recommend_products"));
        assert!(!valid_name("recommend"));
        assert!(!valid_name("a.b.c"));
        assert!(!valid_name("Commerce.Order"));
    }
}
