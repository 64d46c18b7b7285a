//! Host callbacks: tools, a generator, and streaming deltas. Each takes `void *user_data` last.
//! Callbacks must not unwind (throw) or longjmp; a nonzero return or garbage output becomes a tool
//! or model error for that turn, never a crash.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use brain::{Error, ErrorKind, RespondRequest, Tool};

use crate::engine::{brain_engine, engine as engine_ref};
use crate::error::brain_status;
use crate::string::{arg, brain_buffer, clear, opt_arg, put};

/// A host tool: `arguments_json` in (validated against the tool's schema); write a JSON result
/// with brain_buffer_set(result, json) and return 0, or return nonzero for failure (text set in
/// `result` becomes the error message). Called on a Brain worker thread, possibly several at once:
/// `user_data` must be safe to use from any thread.
#[allow(non_camel_case_types)]
pub type brain_tool_cb = Option<unsafe extern "C" fn(arguments_json: *const c_char, result: *mut brain_buffer, user_data: *mut c_void) -> i32>;

/// A host generator: `request_json` is `{"system","messages":[{"role","content"}],"max_tokens","has_image"}`;
/// write the reply with brain_buffer_set(reply, text) — plain text, or JSON
/// `{"text","tokens_in","tokens_out"}` — and return 0; nonzero is a model error (the turn then
/// answers with the grounded composer). Called on the turn's thread; `user_data` must be safe to
/// use from any thread.
#[allow(non_camel_case_types)]
pub type brain_generator_cb = Option<unsafe extern "C" fn(request_json: *const c_char, reply: *mut brain_buffer, user_data: *mut c_void) -> i32>;

/// Receives the reply in pieces, in order; return nonzero to stop receiving. Called on the
/// calling thread.
#[allow(non_camel_case_types)]
pub type brain_delta_cb = Option<unsafe extern "C" fn(delta: *const c_char, user_data: *mut c_void) -> i32>;

/// The host's pointer, which the host promises may be used from any thread.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Calls a host callback that fills a buffer; returns (rc, text).
fn call_with_buffer(f: impl FnOnce(*mut brain_buffer) -> i32) -> (i32, Option<String>) {
    let mut buffer = brain_buffer { value: None };
    let rc = f(&mut buffer);
    (rc, buffer.value)
}

/// Registers a host tool into the engine's tool registry. `schema_json` is a JSON-Schema object
/// for the arguments; `triggers_csv` (may be NULL) lists phrases that make the planner call it;
/// `timeout_ms` 0 means the default (5000). Enable it for a tenant with brain_tool_enable().
#[unsafe(no_mangle)]
pub extern "C" fn brain_tool_register(
    engine: *const brain_engine,
    name: *const c_char,
    description: *const c_char,
    schema_json: *const c_char,
    side_effect: bool,
    timeout_ms: u32,
    triggers_csv: *const c_char,
    callback: brain_tool_cb,
    user_data: *mut c_void,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    ffi_boundary!(error, {
        let e = engine_ref(engine)?;
        let cb = callback.ok_or_else(|| Error::new(ErrorKind::BadRequest, "`callback` must not be NULL"))?;
        let schema: serde_json::Value = serde_json::from_str(arg(schema_json, "schema_json")?)
            .map_err(|err| Error::new(ErrorKind::BadRequest, format!("`schema_json` is not valid JSON: {err}")))?;
        let triggers: Vec<String> = opt_arg(triggers_csv, "triggers_csv")?.map(|t| t.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()).unwrap_or_default();
        let ud = UserData(user_data);
        let tool_name = arg(name, "name")?.to_string();
        let reported = tool_name.clone();
        let mut tool = Tool::new(tool_name, opt_arg(description, "description")?.unwrap_or(""), schema, move |_ctx, args| {
            let ud = ud;
            let args = CString::new(args.to_string()).map_err(|_| Error::new(ErrorKind::Tool, "arguments contain NUL"))?;
            let (rc, text) = call_with_buffer(|buf| unsafe { cb(args.as_ptr(), buf, ud.0) });
            if rc != 0 {
                return Err(Error::new(ErrorKind::Tool, format!("host tool {reported} failed (code {rc}){}", text.map(|t| format!(": {t}")).unwrap_or_default())));
            }
            let text = text.ok_or_else(|| Error::new(ErrorKind::Tool, format!("host tool {reported} returned no result")))?;
            serde_json::from_str(&text).map_err(|err| Error::new(ErrorKind::Tool, format!("host tool {reported} returned invalid JSON: {err}")))
        })
        .side_effect(side_effect);
        if timeout_ms > 0 {
            tool = tool.timeout(std::time::Duration::from_millis(timeout_ms as u64));
        }
        let refs: Vec<&str> = triggers.iter().map(String::as_str).collect();
        if !refs.is_empty() {
            tool = tool.triggers(&refs);
        }
        e.register_tool(tool)
    })
}

/// Adds a registered tool to a tenant persona's allowlist.
#[unsafe(no_mangle)]
pub extern "C" fn brain_tool_enable(engine: *const brain_engine, tenant_id: *const c_char, name: *const c_char, error: *mut *mut crate::error::brain_error) -> brain_status {
    ffi_boundary!(error, {
        let e = engine_ref(engine)?;
        let tenant = arg(tenant_id, "tenant_id")?;
        let name = arg(name, "name")?;
        if !e.tools().iter().any(|t| t.name == name) {
            return Err(Error::new(ErrorKind::NotFound, format!("no tool named {name} is registered")));
        }
        let mut persona = e.persona(tenant)?;
        if !persona.tools.iter().any(|t| t == name) {
            persona.tools.push(name.to_string());
            e.set_persona(tenant, &persona)?;
        }
        Ok(())
    })
}

struct HostGenerator {
    cb: unsafe extern "C" fn(*const c_char, *mut brain_buffer, *mut c_void) -> i32,
    user_data: UserData,
}

impl brain::Generator for HostGenerator {
    fn name(&self) -> &str {
        "host"
    }

    fn generate(&self, request: &brain::GenerationRequest) -> brain::Result<brain::Generation> {
        let json = CString::new(serde_json::to_string(request).unwrap_or_default()).map_err(|_| Error::new(ErrorKind::Model, "request contains NUL"))?;
        let ud = self.user_data;
        let (rc, text) = call_with_buffer(|buf| unsafe { (self.cb)(json.as_ptr(), buf, ud.0) });
        if rc != 0 {
            return Err(Error::new(ErrorKind::Model, format!("host generator failed (code {rc})")));
        }
        let text = text.ok_or_else(|| Error::new(ErrorKind::Model, "host generator returned nothing"))?;
        match serde_json::from_str::<brain::Generation>(&text) {
            Ok(g) => Ok(g),
            Err(_) => Ok(brain::Generation { text, tokens_in: 0, tokens_out: 0 }),
        }
    }
}

/// Uses a host generator to compose replies from now on (grounded by the turn's passages,
/// checked by the output rails, with the grounded composer as fallback). NULL `callback` removes
/// it.
#[unsafe(no_mangle)]
pub extern "C" fn brain_generator_set(engine: *const brain_engine, callback: brain_generator_cb, user_data: *mut c_void, error: *mut *mut crate::error::brain_error) -> brain_status {
    ffi_boundary!(error, {
        let e = engine_ref(engine)?;
        match callback {
            Some(cb) => e.set_generator(Arc::new(HostGenerator { cb, user_data: UserData(user_data) })),
            None => e.clear_generator(),
        }
        Ok(())
    })
}

/// Runs a turn (trusted, like brain_respond) and streams the rail-checked reply to `on_delta` in
/// sentence-sized pieces before returning the whole response JSON in `*response_json_out`.
#[unsafe(no_mangle)]
pub extern "C" fn brain_respond_stream(
    engine: *const brain_engine,
    tenant_id: *const c_char,
    request_json: *const c_char,
    on_delta: brain_delta_cb,
    user_data: *mut c_void,
    response_json_out: *mut *mut c_char,
    error: *mut *mut crate::error::brain_error,
) -> brain_status {
    clear(response_json_out);
    ffi_boundary!(error, {
        let e = engine_ref(engine)?;
        let cb = on_delta.ok_or_else(|| Error::new(ErrorKind::BadRequest, "`on_delta` must not be NULL"))?;
        let req = RespondRequest::from_json(arg(request_json, "request_json")?).map_err(|e| e.with_request_id(brain::new_request_id()))?;
        let resp = e.respond_streaming(arg(tenant_id, "tenant_id")?, &req, &mut |delta| {
            let Ok(d) = CString::new(delta) else { return false };
            unsafe { cb(d.as_ptr(), user_data) == 0 }
        })?;
        put(response_json_out, serde_json::to_string(&resp).unwrap_or_default())
    })
}
