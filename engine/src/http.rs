//! The wire contract, transport-neutral: an HTTP-shaped request in, an HTTP-shaped response out.
//!
//! A host's HTTP server (or the C and Python bindings) passes method, path, headers and body
//! through [`Engine::handle_http`] and writes back what it returns; it needs no logic of its own.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /api/v1/respond` | API key, scope `respond` | one turn (the reference's contract) |
//! | `GET /api/v1/traces/{request_id}` | API key, scope `trace` | the trace of one of the key's tenant's requests |
//! | `POST /v1/admin/api-keys/issue` | admin token, or a key with scope `admin` for its own tenant | issue a key |
//! | `POST /v1/admin/marketplace/apply` | admin token, or a key with scope `admin` for its own tenant | apply a vertical |
//!
//! Every response carries `X-Request-Id` and `Content-Type: application/json`; respond outcomes
//! carry `X-RateLimit-Limit/Remaining/Reset` whenever the key was recognised, and a 429 carries
//! `Retry-After` (seconds). Unknown routes are 404 `not_found`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::access::{Bearer, RateLimit, parse_authorization};
use crate::contract::{ErrorBody, RespondRequest, new_request_id};
use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};

/// An HTTP request as a host's server received it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: a path, optionally with a query string (ignored).
    pub path: String,
    /// Header names and values (names are matched case-insensitively).
    pub headers: Vec<(String, String)>,
    /// The raw body (in JSON: a string, or an array of bytes).
    #[serde(deserialize_with = "body_bytes")]
    pub body: Vec<u8>,
}

fn body_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Bytes(Vec<u8>),
    }
    Ok(match Body::deserialize(d)? {
        Body::Text(s) => s.into_bytes(),
        Body::Bytes(b) => b,
    })
}

/// The HTTP response to send back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: String,
}

impl HttpRequest {
    /// A request with a JSON body and an optional `Authorization` value.
    pub fn new(method: &str, path: &str, authorization: Option<&str>, body: impl Into<Vec<u8>>) -> HttpRequest {
        let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(a) = authorization {
            headers.push(("Authorization".to_string(), a.to_string()));
        }
        HttpRequest { method: method.into(), path: path.into(), headers, body: body.into() }
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn respond_headers(request_id: &str, rate: Option<RateLimit>, retry_after: Option<u64>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-Request-Id".to_string(), request_id.to_string()),
    ];
    if let Some(r) = rate {
        h.push(("X-RateLimit-Limit".into(), r.limit.to_string()));
        h.push(("X-RateLimit-Remaining".into(), r.remaining.to_string()));
        h.push(("X-RateLimit-Reset".into(), r.reset.to_string()));
    }
    if let Some(s) = retry_after {
        h.push(("Retry-After".into(), s.to_string()));
    }
    h
}

fn error_response(e: &Error, rate: Option<RateLimit>) -> HttpResponse {
    let fallback = new_request_id();
    let body = ErrorBody::from_error(e, &fallback);
    HttpResponse {
        status: e.http_status(),
        headers: respond_headers(&body.request_id, rate, e.retry_after()),
        body: serde_json::to_string(&body).unwrap_or_default(),
    }
}

fn ok_response(request_id: &str, rate: Option<RateLimit>, body: String) -> HttpResponse {
    HttpResponse { status: 200, headers: respond_headers(request_id, rate, None), body }
}

fn json_body(req: &HttpRequest) -> Result<Value> {
    let text = std::str::from_utf8(&req.body).map_err(|_| Error::bad_request("request body is not valid UTF-8"))?;
    serde_json::from_str(text).map_err(|e| Error::bad_request(format!("request body is not valid JSON: {e}")))
}

fn str_field<'a>(v: &'a Value, field: &str) -> Result<&'a str> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::bad_request(format!("missing required string field `{field}`")))
}

impl Engine {
    /// Serves one HTTP-shaped request of the wire contract (see the module table of routes).
    /// Never fails: every problem becomes the reference's error response.
    pub fn handle_http(&self, req: &HttpRequest) -> HttpResponse {
        let path = req.path.split('?').next().unwrap_or("");
        let method = req.method.to_ascii_uppercase();
        match (method.as_str(), path) {
            ("POST", "/api/v1/respond") => self.http_respond(req),
            ("GET", p) if p.starts_with("/api/v1/traces/") => self.http_trace(req, &p["/api/v1/traces/".len()..]),
            ("POST", "/v1/admin/api-keys/issue") => self.http_admin(req, |engine, body, request_id| {
                let tenant = str_field(body, "tenant_id")?;
                let label = body.get("label").and_then(Value::as_str).unwrap_or("");
                let scopes: Vec<&str> = match body.get("scopes") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|s| s.as_str().ok_or_else(|| Error::bad_request("field `scopes` must be an array of strings")))
                        .collect::<Result<_>>()?,
                    Some(_) => return Err(Error::bad_request("field `scopes` must be an array of strings")),
                };
                let rpm = match body.get("rate_limit_rpm") {
                    None | Some(Value::Null) => None,
                    Some(v) => Some(
                        v.as_u64()
                            .filter(|n| *n <= u32::MAX as u64)
                            .ok_or_else(|| Error::bad_request("field `rate_limit_rpm` must be a positive integer"))? as u32,
                    ),
                };
                let issued = engine.issue_key(tenant, label, &scopes, rpm)?;
                Ok(json!({ "ok": true, "request_id": request_id, "api_key": issued.api_key, "key": issued.key }))
            }),
            ("POST", "/v1/admin/marketplace/apply") => self.http_admin(req, |engine, body, request_id| {
                let report = engine.marketplace_apply(str_field(body, "tenant_id")?, str_field(body, "vertical_key")?)?;
                Ok(json!({ "ok": true, "request_id": request_id, "result": report }))
            }),
            _ => error_response(
                &Error::not_found(format!("no route for {} {path}", req.method)).with_request_id(new_request_id()),
                None,
            ),
        }
    }

    fn http_respond(&self, req: &HttpRequest) -> HttpResponse {
        let parsed = std::str::from_utf8(&req.body)
            .map_err(|_| Error::bad_request("request body is not valid UTF-8"))
            .and_then(RespondRequest::from_json);
        let request = match parsed {
            Ok(r) => r,
            Err(e) => {
                // Credentials are checked first, as a server would: a bad key is 401 whatever the body.
                let request_id = new_request_id();
                if let Err(auth) = self.authenticate(req.header("authorization"), "respond", &request_id) {
                    return error_response(&auth.with_request_id(request_id), None);
                }
                return error_response(&e.with_request_id(request_id), None);
            }
        };
        let out = self.respond_with_key(req.header("authorization"), &request);
        match out.result {
            Ok(resp) => ok_response(&resp.request_id, out.rate_limit, serde_json::to_string(&resp).unwrap_or_default()),
            Err(e) => error_response(&e, out.rate_limit),
        }
    }

    fn http_trace(&self, req: &HttpRequest, id: &str) -> HttpResponse {
        let request_id = new_request_id();
        let result = self.authenticate(req.header("authorization"), "trace", &request_id).and_then(|auth| {
            let trace = self.trace(id)?;
            // Another tenant's trace is indistinguishable from a missing one.
            if trace.get("tenant_id").and_then(Value::as_str) != Some(auth.tenant_id.as_str()) {
                return Err(Error::not_found(format!("no trace for request id {id:?}")));
            }
            Ok(json!({ "ok": true, "request_id": request_id, "trace": trace }))
        });
        match result {
            Ok(body) => ok_response(&request_id, None, body.to_string()),
            Err(e) => error_response(&e.with_request_id(request_id), None),
        }
    }

    /// Admin routes: the engine's admin token, or an API key with the `admin` scope acting on its
    /// own tenant.
    fn http_admin(&self, req: &HttpRequest, f: impl FnOnce(&Engine, &Value, &str) -> Result<Value>) -> HttpResponse {
        let request_id = new_request_id();
        let result = (|| {
            let body = json_body(req)?;
            match parse_authorization(req.header("authorization"))? {
                Bearer::Token(token) => match self.admin_token_matches(token) {
                    Some(true) => {}
                    Some(false) => return Err(Error::new(ErrorKind::Unauthorized, "invalid admin token")),
                    None => {
                        return Err(Error::new(
                            ErrorKind::Forbidden,
                            "admin routes are disabled: this engine has no admin token configured",
                        ));
                    }
                },
                Bearer::Key { .. } => {
                    let auth = self.authenticate(req.header("authorization"), "admin", &request_id)?;
                    let tenant = str_field(&body, "tenant_id")?;
                    if tenant != auth.tenant_id || !auth.scopes.iter().any(|s| s == "admin") {
                        return Err(Error::new(ErrorKind::Forbidden, "an admin-scoped key may only act on its own tenant"));
                    }
                }
            }
            f(self, &body, &request_id)
        })();
        match result {
            Ok(body) => ok_response(&request_id, None, body.to_string()),
            Err(e) => error_response(&e.with_request_id(request_id), None),
        }
    }
}
