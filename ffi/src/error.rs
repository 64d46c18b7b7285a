//! Status codes and the error object.

use std::ffi::{CString, c_char};

/// The outcome of a fallible call. Values mirror brain's ErrorKind and never change meaning.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum brain_status {
    /// Success.
    Ok = 0,
    /// Malformed input, a NULL where a value is required, or invalid UTF-8 (HTTP 400).
    BadRequest = 1,
    /// Missing, malformed or unknown credentials (HTTP 401).
    Unauthorized = 2,
    /// Revoked key or missing scope (HTTP 403).
    Forbidden = 3,
    /// An unknown tenant, key, document or request id (HTTP 404).
    NotFound = 4,
    /// A per-key rate limit was hit; see brain_error_retry_after() (HTTP 429).
    RateLimited = 5,
    /// The SQLite store failed.
    Storage = 10,
    /// The retrieval index failed.
    Retrieval = 11,
    /// A model or generator failed.
    Model = 12,
    /// A tool failed.
    Tool = 13,
    /// A bug, including a caught panic.
    Internal = 100,
}

pub(crate) fn status_of(kind: brain::ErrorKind) -> brain_status {
    match kind {
        brain::ErrorKind::BadRequest => brain_status::BadRequest,
        brain::ErrorKind::Unauthorized => brain_status::Unauthorized,
        brain::ErrorKind::Forbidden => brain_status::Forbidden,
        brain::ErrorKind::NotFound => brain_status::NotFound,
        brain::ErrorKind::RateLimited => brain_status::RateLimited,
        brain::ErrorKind::Storage => brain_status::Storage,
        brain::ErrorKind::Retrieval => brain_status::Retrieval,
        brain::ErrorKind::Model => brain_status::Model,
        brain::ErrorKind::Tool => brain_status::Tool,
        _ => brain_status::Internal,
    }
}

/// An error: status, message, wire code, request id and retry-after. Opaque; read it with the
/// brain_error_* getters and free it with brain_error_free(). Not thread-safe to share, but may
/// move between threads.
#[allow(non_camel_case_types)]
pub struct brain_error {
    status: brain_status,
    message: CString,
    code: CString,
    request_id: Option<CString>,
    retry_after: i64,
}


fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl brain_error {
    pub(crate) fn from_error(e: &brain::Error) -> brain_error {
        brain_error {
            status: status_of(e.kind()),
            message: cstring(e.message()),
            code: cstring(e.code()),
            request_id: e.request_id().map(cstring),
            retry_after: e.retry_after().map_or(-1, |r| r as i64),
        }
    }
}

/// Turns a body's outcome into a status and an optional error object.
pub(crate) fn finish(outcome: std::thread::Result<Result<(), brain::Error>>, error: *mut *mut brain_error) -> brain_status {
    let err = match outcome {
        Ok(Ok(())) => {
            if !error.is_null() {
                unsafe { *error = std::ptr::null_mut() };
            }
            return brain_status::Ok;
        }
        Ok(Err(e)) => e,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            brain::Error::new(brain::ErrorKind::Internal, format!("internal error (caught panic): {msg}"))
        }
    };
    let status = status_of(err.kind());
    if !error.is_null() {
        unsafe { *error = Box::into_raw(Box::new(brain_error::from_error(&err))) };
    }
    status
}

/// The status of `error` (BRAIN_STATUS_OK for NULL).
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_status(error: *const brain_error) -> brain_status {
    unsafe { error.as_ref() }.map_or(brain_status::Ok, |e| e.status)
}

/// The message of `error`: what went wrong and how to fix it. Borrowed from `error`; valid until
/// brain_error_free(). "" for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_message(error: *const brain_error) -> *const c_char {
    unsafe { error.as_ref() }.map_or(c"".as_ptr(), |e| e.message.as_ptr())
}

/// The wire code of `error` (`bad_request`, `unauthorized`, `forbidden`, `not_found`,
/// `rate_limited`, `server_error`). Borrowed from `error`. "" for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_code(error: *const brain_error) -> *const c_char {
    unsafe { error.as_ref() }.map_or(c"".as_ptr(), |e| e.code.as_ptr())
}

/// The request id of the failed turn (`req_...`), or NULL when the error did not come from a
/// turn. Borrowed from `error`.
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_request_id(error: *const brain_error) -> *const c_char {
    unsafe { error.as_ref() }.and_then(|e| e.request_id.as_ref()).map_or(std::ptr::null(), |r| r.as_ptr())
}

/// Seconds to wait before retrying (for BRAIN_STATUS_RATE_LIMITED), or -1.
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_retry_after(error: *const brain_error) -> i64 {
    unsafe { error.as_ref() }.map_or(-1, |e| e.retry_after)
}

/// Frees an error object. NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn brain_error_free(error: *mut brain_error) {
    if !error.is_null() {
        drop(unsafe { Box::from_raw(error) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal_with_a_message_and_every_kind_maps() {
        let mut err: *mut brain_error = std::ptr::null_mut();
        let outcome = std::panic::catch_unwind(|| -> Result<(), brain::Error> { panic!("boom") });
        assert_eq!(finish(outcome, &mut err), brain_status::Internal);
        let msg = unsafe { std::ffi::CStr::from_ptr(brain_error_message(err)) }.to_str().unwrap().to_string();
        assert!(msg.contains("(caught panic): boom"), "{msg}");
        brain_error_free(err);
        for kind in brain::ErrorKind::ALL {
            assert_eq!(status_of(kind) as i32, kind as i32);
        }
    }
}
