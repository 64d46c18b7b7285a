//! The engine handle and its operations.

use std::ffi::c_char;

use brain::{Engine, Error, ErrorKind, Plan, RespondRequest};

use crate::error::brain_status;
use crate::string::{arg, clear, opt_arg, put};

/// An open Brain engine: a data directory (or memory), its tenants and their turns. Opaque.
/// Thread-safe: one handle may be used from many threads at once. Free with brain_engine_free().
#[allow(non_camel_case_types)]
pub struct brain_engine {
    pub(crate) engine: Engine,
}


pub(crate) fn engine<'a>(e: *const brain_engine) -> Result<&'a Engine, Error> {
    unsafe { e.as_ref() }.map(|e| &e.engine).ok_or_else(|| Error::new(ErrorKind::BadRequest, "`engine` must not be NULL"))
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Opens (creating if needed) the data directory `data_dir` — or an in-memory engine when
/// `data_dir` is NULL — with an optional JSON config (`config_json` may be NULL):
/// `{"history_window": 10, "dedup_window_secs": 86400, "trace_retention_secs": 2592000,
///   "admin_token": "..."}`. On success `*out` receives the engine; on failure `*out` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn brain_engine_open(
    data_dir: *const c_char,
    config_json: *const c_char,
    out: *mut *mut brain_engine,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(out);
    ffi_boundary!(error, {
        if out.is_null() {
            return Err(Error::new(ErrorKind::BadRequest, "`out` must not be NULL"));
        }
        let mut builder = Engine::builder();
        if let Some(dir) = opt_arg(data_dir, "data_dir")? {
            builder = builder.data_dir(dir);
        }
        if let Some(cfg) = opt_arg(config_json, "config_json")? {
            let v: serde_json::Value =
                serde_json::from_str(cfg).map_err(|e| Error::new(ErrorKind::BadRequest, format!("`config_json` is not valid JSON: {e}")))?;
            let obj = v.as_object().ok_or_else(|| Error::new(ErrorKind::BadRequest, "`config_json` must be a JSON object"))?;
            for (k, val) in obj {
                let num = || val.as_u64().ok_or_else(|| Error::new(ErrorKind::BadRequest, format!("config `{k}` must be a non-negative integer")));
                builder = match k.as_str() {
                    "history_window" => builder.history_window(num()? as usize),
                    "dedup_window_secs" => builder.dedup_window(std::time::Duration::from_secs(num()?)),
                    "trace_retention_secs" => builder.trace_retention(std::time::Duration::from_secs(num()?)),
                    "admin_token" => builder.admin_token(val.as_str().ok_or_else(|| Error::new(ErrorKind::BadRequest, "config `admin_token` must be a string"))?),
                    other => {
                        return Err(Error::new(
                            ErrorKind::BadRequest,
                            format!("unknown config key `{other}`; valid: history_window, dedup_window_secs, trace_retention_secs, admin_token"),
                        ));
                    }
                };
            }
        }
        let engine = builder.open()?;
        unsafe { *out = Box::into_raw(Box::new(brain_engine { engine })) };
        Ok(())
    })
}

/// Loads local models into the engine, per `setup_json`:
/// `{"chat_model": "default" | "/path/model.gguf", "embedder": "default" | "/path/minilm-dir",
///   "route": "auto" | "grounded" | "local" | "host", "threads": 2}` (every key optional;
/// "default" means the models scripts/fetch-models.sh puts in models/, or $BRAIN_MODELS_DIR).
/// The embedder's vectors are fused with BM25 retrieval; the chat model answers the turns the
/// route sends it, under the output rails. Blocks while the models load and chunks are embedded.
#[unsafe(no_mangle)]
pub extern "C" fn brain_models_load(engine: *const brain_engine, setup_json: *const c_char, error: *mut *mut crate::error::brain_error) -> brain_status {
    ffi_boundary!(error, {
        let e = self::engine(engine)?;
        let text = arg(setup_json, "setup_json")?;
        let v: serde_json::Value = serde_json::from_str(text).map_err(|err| Error::new(ErrorKind::BadRequest, format!("`setup_json` is not valid JSON: {err}")))?;
        let obj = v.as_object().ok_or_else(|| Error::new(ErrorKind::BadRequest, "`setup_json` must be a JSON object"))?;
        let mut setup = brain::models::ModelSetup::default();
        for (k, val) in obj {
            let text = || val.as_str().map(str::to_string).ok_or_else(|| Error::new(ErrorKind::BadRequest, format!("`{k}` must be a string")));
            match k.as_str() {
                "chat_model" => setup.chat_model = Some(text()?),
                "embedder" => setup.embedder = Some(text()?),
                "route" => setup.route = Some(text()?.parse()?),
                "threads" => setup.threads = Some(val.as_u64().filter(|n| *n > 0).ok_or_else(|| Error::new(ErrorKind::BadRequest, "`threads` must be a positive integer"))? as usize),
                other => return Err(Error::new(ErrorKind::BadRequest, format!("unknown key `{other}`; valid: chat_model, embedder, route, threads"))),
            }
        }
        setup.apply(e, &mut |_| {})
    })
}

/// Closes an engine. NULL is a no-op. No call may use `engine` during or after this.
#[unsafe(no_mangle)]
pub extern "C" fn brain_engine_free(engine: *mut brain_engine) {
    if !engine.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unsafe { Box::from_raw(engine) })));
    }
}

/// Creates a tenant. `plan` is "starter", "pro" or "enterprise" (NULL = starter).
#[unsafe(no_mangle)]
pub extern "C" fn brain_tenant_create(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    name: *const c_char,
    plan: *const c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    ffi_boundary!(error, {
        let plan = opt_arg(plan, "plan")?.map(Plan::parse).transpose()?.unwrap_or_default();
        self::engine(engine)?.create_tenant(arg(tenant_id, "tenant_id")?, opt_arg(name, "name")?.unwrap_or(""), plan)
    })
}

/// Applies a built-in marketplace vertical to a tenant. `*report_json_out` receives
/// `{"key","version","previous_version","status","documents","catalog_items"}` (free it with
/// brain_string_free); may be NULL if the report is not wanted.
#[unsafe(no_mangle)]
pub extern "C" fn brain_marketplace_apply(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    vertical_key: *const c_char,
    report_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(report_json_out);
    ffi_boundary!(error, {
        let r = self::engine(engine)?.marketplace_apply(arg(tenant_id, "tenant_id")?, arg(vertical_key, "vertical_key")?)?;
        if !report_json_out.is_null() {
            put(report_json_out, json(&r))?;
        }
        Ok(())
    })
}

/// Ingests a file or directory (.md/.txt documents, .csv/.json catalogs) into a tenant.
/// `*report_json_out` (may be NULL) receives the ingest report.
#[unsafe(no_mangle)]
pub extern "C" fn brain_ingest(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    path: *const c_char,
    report_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(report_json_out);
    ffi_boundary!(error, {
        let r = self::engine(engine)?.ingest_path(arg(tenant_id, "tenant_id")?, arg(path, "path")?, &mut |_| {})?;
        if !report_json_out.is_null() {
            put(report_json_out, json(&r))?;
        }
        Ok(())
    })
}

/// Runs one turn for a tenant as a trusted host (no key). `request_json` is the reference's
/// request body; `*response_json_out` receives the response JSON. Errors carry the wire code and
/// request id in the error object.
#[unsafe(no_mangle)]
pub extern "C" fn brain_respond(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    request_json: *const c_char,
    response_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(response_json_out);
    ffi_boundary!(error, {
        let e = self::engine(engine)?;
        let tenant = arg(tenant_id, "tenant_id")?;
        let req = RespondRequest::from_json(arg(request_json, "request_json")?).map_err(|e| e.with_request_id(brain::new_request_id()))?;
        let resp = e.respond(tenant, &req)?;
        put(response_json_out, json(&resp))
    })
}

/// Runs one turn authenticated by an `Authorization` header value (`Bearer pk_live_...`); the key
/// names the tenant and is rate limited. A 429 sets brain_error_retry_after().
#[unsafe(no_mangle)]
pub extern "C" fn brain_respond_with_key(
    engine: *const brain_engine,
    authorization: *const c_char,
    request_json: *const c_char,
    response_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(response_json_out);
    ffi_boundary!(error, {
        let e = self::engine(engine)?;
        let req = RespondRequest::from_json(arg(request_json, "request_json")?).map_err(|e| e.with_request_id(brain::new_request_id()))?;
        let resp = e.respond_with_key(opt_arg(authorization, "authorization")?, &req).result?;
        put(response_json_out, json(&resp))
    })
}

/// Serves one HTTP-shaped request of the wire contract. `http_request_json` is
/// `{"method","path","headers":[[name,value],...],"body":"..."}`; `*http_response_json_out`
/// receives `{"status","headers":[[name,value],...],"body":"..."}`. Every HTTP outcome (including
/// 4xx/5xx) is BRAIN_STATUS_OK here: the status is in the response; a C host's server just
/// writes it out.
#[unsafe(no_mangle)]
pub extern "C" fn brain_handle_http(
    engine: *const brain_engine,
    http_request_json: *const c_char,
    http_response_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(http_response_json_out);
    ffi_boundary!(error, {
        let e = self::engine(engine)?;
        let req: brain::HttpRequest = serde_json::from_str(arg(http_request_json, "http_request_json")?)
            .map_err(|err| Error::new(ErrorKind::BadRequest, format!("`http_request_json` is not a valid request object: {err}")))?;
        put(http_response_json_out, json(&e.handle_http(&req)))
    })
}

/// Issues an API key. `scopes_csv` like "respond,trace" (NULL = respond); `rate_limit_rpm` 0
/// means the plan's limit. `*issued_json_out` receives `{"api_key": "pk_live_...", "key": {...}}`
/// — the plaintext key appears only here.
#[unsafe(no_mangle)]
pub extern "C" fn brain_key_issue(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    label: *const c_char,
    scopes_csv: *const c_char,
    rate_limit_rpm: u32,
    issued_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(issued_json_out);
    ffi_boundary!(error, {
        let scopes: Vec<&str> = opt_arg(scopes_csv, "scopes_csv")?.map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let rpm = (rate_limit_rpm > 0).then_some(rate_limit_rpm);
        let issued = self::engine(engine)?.issue_key(arg(tenant_id, "tenant_id")?, opt_arg(label, "label")?.unwrap_or(""), &scopes, rpm)?;
        put(issued_json_out, json(&issued))
    })
}

/// Lists API keys (of `tenant_id`, or all when NULL) with usage, revoked ones included.
#[unsafe(no_mangle)]
pub extern "C" fn brain_keys_list(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    keys_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(keys_json_out);
    ffi_boundary!(error, {
        let keys = self::engine(engine)?.keys(opt_arg(tenant_id, "tenant_id")?)?;
        put(keys_json_out, json(&keys))
    })
}

/// Revokes a key by its 8-hex prefix (or the whole key).
#[unsafe(no_mangle)]
pub extern "C" fn brain_key_revoke(engine: *const brain_engine, prefix: *const c_char, error: *mut *mut crate::error::brain_error) -> brain_status {
    ffi_boundary!(error, { self::engine(engine)?.revoke_key(arg(prefix, "prefix")?) })
}

/// The trace of a request id, as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn brain_trace(
    engine: *const brain_engine,
    request_id: *const c_char,
    trace_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(trace_json_out);
    ffi_boundary!(error, {
        let t = self::engine(engine)?.trace(arg(request_id, "request_id")?)?;
        put(trace_json_out, json(&t))
    })
}

/// Runs a tenant's input guardrails on `text` without a turn. `*check_json_out` receives
/// `{"decisions","redacted","pii","blocked_reply","escalate","injection_score"}`.
#[unsafe(no_mangle)]
pub extern "C" fn brain_guardrails_check(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    text: *const c_char,
    check_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(check_json_out);
    ffi_boundary!(error, {
        let c = self::engine(engine)?.check_message(arg(tenant_id, "tenant_id")?, arg(text, "text")?)?;
        put(check_json_out, json(&c))
    })
}
