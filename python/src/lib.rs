//! `brain._native`: the Python binding of Brain. Conversion only — the engine holds the logic.
//! Turns run with the GIL released; host callbacks re-attach to call Python.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::create_exception;

create_exception!(_native, BrainError, PyException, "Base of every Brain error: .status, .code, .request_id, .body, .retry_after.");
create_exception!(_native, BrainBadRequestError, BrainError, "400 bad_request: fix the request (the message names the field).");
create_exception!(_native, BrainAuthError, BrainError, "401 unauthorized or 403 forbidden (see .status).");
create_exception!(_native, BrainNotFoundError, BrainError, "404 not_found: unknown tenant, key, document or request id.");
create_exception!(_native, BrainRateLimitError, BrainError, "429 rate_limited: retry after .retry_after seconds.");
create_exception!(_native, BrainServerError, BrainError, "5xx server_error: storage, retrieval, model, tool or internal failure; safe to retry.");

/// One `From<brain::Error>` for every Python exception (the table in tests/golden/error_codes.txt).
fn to_py(e: brain::Error) -> PyErr {
    Python::attach(|py| {
        let msg = e.message().to_string();
        let err = match e.kind() {
            brain::ErrorKind::BadRequest => BrainBadRequestError::new_err(msg),
            brain::ErrorKind::Unauthorized | brain::ErrorKind::Forbidden => BrainAuthError::new_err(msg),
            brain::ErrorKind::NotFound => BrainNotFoundError::new_err(msg),
            brain::ErrorKind::RateLimited => BrainRateLimitError::new_err(msg),
            _ => BrainServerError::new_err(msg),
        };
        let value = err.value(py);
        let body = serde_json::json!({
            "ok": false,
            "error": e.code(),
            "message": e.message(),
            "request_id": e.request_id(),
        });
        let _ = value.setattr("status", e.http_status());
        let _ = value.setattr("code", e.code());
        let _ = value.setattr("kind", e.kind().name());
        let _ = value.setattr("request_id", e.request_id());
        let _ = value.setattr("retry_after", e.retry_after());
        let _ = value.setattr("body", json_to_py(py, &body).ok());
        err
    })
}

fn json_to_py(py: Python<'_>, v: &serde_json::Value) -> PyResult<Py<PyAny>> {
    let json = py.import("json")?;
    Ok(json.call_method1("loads", (v.to_string(),))?.unbind())
}

fn ser<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(v).map_err(|e| BrainServerError::new_err(e.to_string()))?;
    json_to_py(py, &value)
}

fn py_to_json(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let json = py.import("json")?;
    let text: String = json.call_method1("dumps", (obj,))?.extract()?;
    serde_json::from_str(&text).map_err(|e| BrainBadRequestError::new_err(format!("not JSON-compatible: {e}")))
}

fn bad(msg: impl Into<String>) -> PyErr {
    BrainBadRequestError::new_err(msg.into())
}

/// An embedded Brain engine. Thread-safe: share one across threads; every call releases the GIL
/// while Brain works.
#[pyclass(frozen, module = "brain._native")]
struct Engine {
    inner: brain::Engine,
}

fn builder_with(config: Option<&Bound<'_, PyDict>>) -> PyResult<brain::EngineBuilder> {
    let mut b = brain::Engine::builder();
    if let Some(cfg) = config {
        for (k, v) in cfg.iter() {
            let key: String = k.extract()?;
            b = match key.as_str() {
                "history_window" => b.history_window(v.extract::<usize>()?),
                "dedup_window_secs" => b.dedup_window(std::time::Duration::from_secs(v.extract::<u64>()?)),
                "trace_retention_secs" => b.trace_retention(std::time::Duration::from_secs(v.extract::<u64>()?)),
                "admin_token" => b.admin_token(&v.extract::<String>()?),
                other => return Err(bad(format!("unknown config key {other:?}; valid: history_window, dedup_window_secs, trace_retention_secs, admin_token"))),
            };
        }
    }
    Ok(b)
}

#[pymethods]
impl Engine {
    /// Opens (creating if needed) a data directory.
    #[staticmethod]
    #[pyo3(signature = (path, config=None))]
    fn open(py: Python<'_>, path: PathBuf, config: Option<&Bound<'_, PyDict>>) -> PyResult<Engine> {
        let b = builder_with(config)?.data_dir(path);
        let inner = py.detach(move || b.open()).map_err(to_py)?;
        Ok(Engine { inner })
    }

    /// An engine that keeps everything in memory.
    #[staticmethod]
    #[pyo3(signature = (config=None))]
    fn in_memory(config: Option<&Bound<'_, PyDict>>) -> PyResult<Engine> {
        let inner = builder_with(config)?.in_memory().open().map_err(to_py)?;
        Ok(Engine { inner })
    }

    /// Runs one turn and returns the reference's response dict. Give `tenant` (trusted host) or
    /// `api_key` (the key names the tenant and is rate limited).
    #[pyo3(signature = (channel, channel_user_id, message_text, *, tenant=None, api_key=None, metadata=None, dedup_key=None, has_image=false))]
    #[allow(clippy::too_many_arguments)]
    fn respond(
        &self,
        py: Python<'_>,
        channel: &str,
        channel_user_id: String,
        message_text: String,
        tenant: Option<String>,
        api_key: Option<String>,
        metadata: Option<&Bound<'_, PyAny>>,
        dedup_key: Option<String>,
        has_image: bool,
    ) -> PyResult<Py<PyAny>> {
        let req = request(py, channel, channel_user_id, message_text, metadata, dedup_key, has_image)?;
        let engine = self.inner.clone();
        let resp = py
            .detach(move || match (tenant, api_key) {
                (Some(t), None) => engine.respond(&t, &req),
                (None, Some(k)) => engine.respond_with_key(Some(&format!("Bearer {}", k.trim_start_matches("Bearer "))), &req).result,
                _ => Err(brain::Error::new(brain::ErrorKind::BadRequest, "give exactly one of `tenant` (trusted host) or `api_key`")),
            })
            .map_err(to_py)?;
        ser(py, &resp)
    }

    /// Runs a turn and returns (deltas, response): the rail-checked reply in sentence-sized pieces.
    #[pyo3(signature = (tenant, channel, channel_user_id, message_text, *, metadata=None, dedup_key=None, has_image=false))]
    #[allow(clippy::too_many_arguments)]
    fn respond_deltas(
        &self,
        py: Python<'_>,
        tenant: String,
        channel: &str,
        channel_user_id: String,
        message_text: String,
        metadata: Option<&Bound<'_, PyAny>>,
        dedup_key: Option<String>,
        has_image: bool,
    ) -> PyResult<(Vec<String>, Py<PyAny>)> {
        let req = request(py, channel, channel_user_id, message_text, metadata, dedup_key, has_image)?;
        let engine = self.inner.clone();
        let (deltas, resp) = py
            .detach(move || {
                let mut deltas = Vec::new();
                engine
                    .respond_streaming(&tenant, &req, &mut |d| {
                        deltas.push(d.to_string());
                        true
                    })
                    .map(|r| (deltas, r))
            })
            .map_err(to_py)?;
        Ok((deltas, ser(py, &resp)?))
    }

    /// Serves one HTTP-shaped request of the wire contract: returns {"status", "headers", "body"}.
    #[pyo3(signature = (method, path, headers=None, body=None))]
    fn handle_http(&self, py: Python<'_>, method: String, path: String, headers: Option<Vec<(String, String)>>, body: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyAny>> {
        let body: Vec<u8> = match body {
            None => Vec::new(),
            Some(b) => match b.extract::<Vec<u8>>() {
                Ok(bytes) if !b.is_instance_of::<pyo3::types::PyString>() => bytes,
                _ => b.extract::<String>()?.into_bytes(),
            },
        };
        let req = brain::HttpRequest { method, path, headers: headers.unwrap_or_default(), body };
        let engine = self.inner.clone();
        let resp = py.detach(move || engine.handle_http(&req));
        ser(py, &resp)
    }

    /// Creates a tenant (`plan`: starter, pro, enterprise).
    #[pyo3(signature = (tenant_id, name="", plan="starter"))]
    fn create_tenant(&self, py: Python<'_>, tenant_id: String, name: &str, plan: &str) -> PyResult<()> {
        let plan = brain::Plan::parse(plan).map_err(to_py)?;
        let (engine, name) = (self.inner.clone(), name.to_string());
        py.detach(move || engine.create_tenant(&tenant_id, &name, plan)).map_err(to_py)
    }

    /// The tenants, as dicts.
    fn tenants(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let t = self.inner.tenants().map_err(to_py)?;
        ser(py, &t)
    }

    /// Applies a built-in marketplace vertical; returns the apply report.
    fn marketplace_apply(&self, py: Python<'_>, tenant_id: String, vertical_key: String) -> PyResult<Py<PyAny>> {
        let engine = self.inner.clone();
        let r = py.detach(move || engine.marketplace_apply(&tenant_id, &vertical_key)).map_err(to_py)?;
        ser(py, &r)
    }

    /// Ingests a file or directory; returns the ingest report.
    fn ingest(&self, py: Python<'_>, tenant_id: String, path: PathBuf) -> PyResult<Py<PyAny>> {
        let engine = self.inner.clone();
        let r = py.detach(move || engine.ingest_path(&tenant_id, &path, &mut |_| {})).map_err(to_py)?;
        ser(py, &r)
    }

    /// Issues an API key: {"api_key": "pk_live_...", "key": {...}} (the plaintext appears only here).
    #[pyo3(signature = (tenant_id, label="", scopes=None, rate_limit_rpm=None))]
    fn issue_key(&self, py: Python<'_>, tenant_id: String, label: &str, scopes: Option<Vec<String>>, rate_limit_rpm: Option<u32>) -> PyResult<Py<PyAny>> {
        let scopes = scopes.unwrap_or_default();
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let r = self.inner.issue_key(&tenant_id, label, &refs, rate_limit_rpm).map_err(to_py)?;
        ser(py, &r)
    }

    /// API keys with usage (revoked ones included).
    #[pyo3(signature = (tenant_id=None))]
    fn keys(&self, py: Python<'_>, tenant_id: Option<String>) -> PyResult<Py<PyAny>> {
        let r = self.inner.keys(tenant_id.as_deref()).map_err(to_py)?;
        ser(py, &r)
    }

    /// Revokes a key by prefix (or the whole key).
    fn revoke_key(&self, prefix: &str) -> PyResult<()> {
        self.inner.revoke_key(prefix).map_err(to_py)
    }

    /// The trace of a request id.
    fn trace(&self, py: Python<'_>, request_id: &str) -> PyResult<Py<PyAny>> {
        let r = self.inner.trace(request_id).map_err(to_py)?;
        json_to_py(py, &r)
    }

    /// Runs the tenant's input guardrails on `text` without a turn.
    fn check_message(&self, py: Python<'_>, tenant_id: &str, text: &str) -> PyResult<Py<PyAny>> {
        let r = self.inner.check_message(tenant_id, text).map_err(to_py)?;
        ser(py, &r)
    }

    /// Registers a host tool: `handler(arguments: dict) -> dict`. An exception inside it becomes a
    /// tool error for that turn (its type and message kept in the trace).
    #[pyo3(signature = (name, description, schema, handler, *, side_effect=false, timeout_ms=5000, triggers=None))]
    #[allow(clippy::too_many_arguments)]
    fn register_tool(
        &self,
        py: Python<'_>,
        name: String,
        description: String,
        schema: &Bound<'_, PyAny>,
        handler: Py<PyAny>,
        side_effect: bool,
        timeout_ms: u64,
        triggers: Option<Vec<String>>,
    ) -> PyResult<()> {
        let schema = py_to_json(py, schema)?;
        let handler = Arc::new(handler);
        let tool_name = name.clone();
        let mut tool = brain::Tool::new(name, description, schema, move |_ctx, args| {
            let handler = handler.clone();
            Python::attach(|py| {
                let call = || -> PyResult<serde_json::Value> {
                    let a = json_to_py(py, args)?;
                    let out = handler.call1(py, (a,))?;
                    py_to_json(py, out.bind(py))
                };
                call().map_err(|e| {
                    let kind = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
                    brain::Error::new(brain::ErrorKind::Tool, format!("host tool {tool_name} raised {kind}: {}", e.value(py)))
                })
            })
        })
        .side_effect(side_effect)
        .timeout(std::time::Duration::from_millis(timeout_ms.max(1)));
        if let Some(t) = &triggers {
            let refs: Vec<&str> = t.iter().map(String::as_str).collect();
            tool = tool.triggers(&refs);
        }
        self.inner.register_tool(tool).map_err(to_py)
    }

    /// Adds a registered tool to a tenant persona's allowlist.
    fn enable_tool(&self, tenant_id: &str, name: &str) -> PyResult<()> {
        let mut persona = self.inner.persona(tenant_id).map_err(to_py)?;
        if !self.inner.tools().iter().any(|t| t.name == name) {
            return Err(BrainNotFoundError::new_err(format!("no tool named {name} is registered")));
        }
        if !persona.tools.iter().any(|t| t == name) {
            persona.tools.push(name.to_string());
            self.inner.set_persona(tenant_id, &persona).map_err(to_py)?;
        }
        Ok(())
    }

    /// Composes replies with `generator(request: dict) -> str | dict` (dict: text, tokens_in,
    /// tokens_out); `None` restores the grounded composer. An exception is a model error for that
    /// turn, which then answers with the grounded composer.
    fn set_generator(&self, generator: Option<Py<PyAny>>) {
        match generator {
            Some(g) => self.inner.set_generator(Arc::new(PyGenerator { callable: g })),
            None => self.inner.clear_generator(),
        }
    }

    /// Loads local models in-process: `chat_model` (a Llama-family .gguf path, or "default" for
    /// SmolLM2-135M from models/), `embedder` (a folder with model.safetensors, config.json and
    /// tokenizer.json, or "default" for all-MiniLM-L6-v2; its vectors are fused with BM25),
    /// `route` ("auto", "grounded", "local", "host") and `threads`. Runs without the GIL.
    #[pyo3(signature = (*, chat_model=None, embedder=None, route=None, threads=None))]
    fn load_models(&self, py: Python<'_>, chat_model: Option<String>, embedder: Option<String>, route: Option<String>, threads: Option<usize>) -> PyResult<()> {
        let route = route.map(|r| r.parse::<brain::RouteMode>()).transpose().map_err(to_py)?;
        let setup = brain::models::ModelSetup { chat_model, embedder, route, threads };
        let engine = self.inner.clone();
        py.detach(move || setup.apply(&engine, &mut |_| {})).map_err(to_py)
    }
}

struct PyGenerator {
    callable: Py<PyAny>,
}

impl brain::Generator for PyGenerator {
    fn name(&self) -> &str {
        "python"
    }

    fn generate(&self, request: &brain::GenerationRequest) -> brain::Result<brain::Generation> {
        Python::attach(|py| {
            let run = || -> PyResult<brain::Generation> {
                let req = ser(py, request)?;
                let out = self.callable.call1(py, (req,))?;
                let out = out.bind(py);
                if let Ok(text) = out.extract::<String>() {
                    return Ok(brain::Generation { text, tokens_in: 0, tokens_out: 0 });
                }
                let v = py_to_json(py, out)?;
                serde_json::from_value(v).map_err(|e| bad(format!("generator must return str or {{text, tokens_in, tokens_out}}: {e}")))
            };
            run().map_err(|e| brain::Error::new(brain::ErrorKind::Model, format!("python generator raised: {}", e.value(py))))
        })
    }
}

fn request(
    py: Python<'_>,
    channel: &str,
    channel_user_id: String,
    message_text: String,
    metadata: Option<&Bound<'_, PyAny>>,
    dedup_key: Option<String>,
    has_image: bool,
) -> PyResult<brain::RespondRequest> {
    let channel = brain::Channel::parse(channel).map_err(to_py)?;
    let metadata = match metadata {
        None => None,
        Some(m) if m.is_none() => None,
        Some(m) => match py_to_json(py, m)? {
            serde_json::Value::Object(o) => Some(o),
            _ => return Err(bad("field `metadata` must be a dict")),
        },
    };
    let req = brain::RespondRequest { channel, channel_user_id, message_text, metadata, dedup_key, has_image };
    req.validate().map_err(to_py)?;
    Ok(req)
}

/// The native module.
#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Engine>()?;
    m.add("BrainError", py.get_type::<BrainError>())?;
    m.add("BrainBadRequestError", py.get_type::<BrainBadRequestError>())?;
    m.add("BrainAuthError", py.get_type::<BrainAuthError>())?;
    m.add("BrainNotFoundError", py.get_type::<BrainNotFoundError>())?;
    m.add("BrainRateLimitError", py.get_type::<BrainRateLimitError>())?;
    m.add("BrainServerError", py.get_type::<BrainServerError>())?;
    // Class-level defaults, so every attribute exists before an instance sets its own.
    let base = py.get_type::<BrainError>();
    base.setattr("status", 500)?;
    base.setattr("code", "server_error")?;
    base.setattr("kind", "INTERNAL")?;
    base.setattr("request_id", py.None())?;
    base.setattr("retry_after", py.None())?;
    base.setattr("body", py.None())?;
    Ok(())
}
