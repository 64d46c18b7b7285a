//! One error type for the whole crate, anchored on the wire contract.
//!
//! Every failure carries an [`ErrorKind`]; each kind maps to exactly one wire `error` code and HTTP
//! status (the reference's error table). The numbers of `ErrorKind` are ABI for the C and Python
//! bindings: never renumber or reuse them.

use std::fmt;

/// What went wrong, at the granularity a caller can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(i32)]
pub enum ErrorKind {
    /// Malformed request or missing/invalid field: fix the input. Wire `bad_request`, 400.
    BadRequest = 1,
    /// Missing or malformed credentials, or an unknown key. Wire `unauthorized`, 401.
    Unauthorized = 2,
    /// A revoked key or an insufficient scope. Wire `forbidden`, 403.
    Forbidden = 3,
    /// The tenant (or another named thing) does not exist or is misconfigured. Wire `not_found`, 404.
    NotFound = 4,
    /// A per-key limit was hit; retry after [`Error::retry_after`]. Wire `rate_limited`, 429.
    RateLimited = 5,
    /// The SQLite store failed. Wire `server_error`, 500.
    Storage = 10,
    /// The tantivy index failed. Wire `server_error`, 500.
    Retrieval = 11,
    /// A model failed to load or run. Wire `server_error`, 500.
    Model = 12,
    /// A tool failed in a way that could not be turned into a reply. Wire `server_error`, 500.
    Tool = 13,
    /// A bug: an invariant did not hold (includes caught panics). Wire `server_error`, 500.
    Internal = 100,
}

impl ErrorKind {
    /// Every kind, in ABI order.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::BadRequest,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Storage,
        ErrorKind::Retrieval,
        ErrorKind::Model,
        ErrorKind::Tool,
        ErrorKind::Internal,
    ];

    /// The wire `error` code of the reference's error table.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Storage
            | ErrorKind::Retrieval
            | ErrorKind::Model
            | ErrorKind::Tool
            | ErrorKind::Internal => "server_error",
        }
    }

    /// The HTTP status of the reference's error table.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RateLimited => 429,
            _ => 500,
        }
    }

    /// The stable name of the kind (`BAD_REQUEST`, `STORAGE`, ...), as the C status uses.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BAD_REQUEST",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Storage => "STORAGE",
            ErrorKind::Retrieval => "RETRIEVAL",
            ErrorKind::Model => "MODEL",
            ErrorKind::Tool => "TOOL",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

/// The error of every fallible Brain call. Opaque: inspect it with [`Error::kind`].
///
/// `Display` prints the message only: it is exactly what the wire `message` field, the C
/// `brain_error_message()` and Python's `str(exc)` show.
pub struct Error {
    kind: ErrorKind,
    message: String,
    retry_after: Option<u64>,
    request_id: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// `Result<T, brain::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message that tells the caller what to fix.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), retry_after: None, request_id: None, source: None }
    }

    #[cold]
    pub(crate) fn bad_request(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::BadRequest, message)
    }

    #[cold]
    pub(crate) fn not_found(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::NotFound, message)
    }

    #[cold]
    pub(crate) fn internal(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Internal, message)
    }

    /// A `rate_limited` error that tells the caller when to retry.
    #[cold]
    pub fn rate_limited(message: impl Into<String>, retry_after_secs: u64) -> Error {
        Error { retry_after: Some(retry_after_secs), ..Error::new(ErrorKind::RateLimited, message) }
    }

    /// Attach the underlying cause (kept as the `source()` chain, not stringified away).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// Tag the error with the id of the request it ended (set by the turn pipeline).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Error {
        self.request_id = Some(request_id.into());
        self
    }

    /// The id of the request this error ended, when it came out of a turn.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (also the wire `message`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds to wait before retrying, for [`ErrorKind::RateLimited`].
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The wire `error` code (`bad_request`, ... `server_error`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The HTTP status of the wire contract.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(r) = self.retry_after {
            d.field("retry_after", &r);
        }
        if let Some(r) = &self.request_id {
            d.field("request_id", r);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<rusqlite::Error> for Error {
    #[cold]
    fn from(e: rusqlite::Error) -> Error {
        Error::new(ErrorKind::Storage, format!("storage error: {e}")).with_source(e)
    }
}

impl From<tantivy::TantivyError> for Error {
    #[cold]
    fn from(e: tantivy::TantivyError) -> Error {
        Error::new(ErrorKind::Retrieval, format!("retrieval index error: {e}")).with_source(e)
    }
}

impl From<std::io::Error> for Error {
    #[cold]
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorKind::Storage, format!("i/o error: {e}")).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_reference_table() {
        let table: Vec<(i32, &str, u16)> =
            ErrorKind::ALL.iter().map(|k| (*k as i32, k.code(), k.http_status())).collect();
        assert_eq!(
            table,
            vec![
                (1, "bad_request", 400),
                (2, "unauthorized", 401),
                (3, "forbidden", 403),
                (4, "not_found", 404),
                (5, "rate_limited", 429),
                (10, "server_error", 500),
                (11, "server_error", 500),
                (12, "server_error", 500),
                (13, "server_error", 500),
                (100, "server_error", 500),
            ]
        );
    }

    #[test]
    fn display_is_the_message_and_source_is_kept() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::from(io);
        assert_eq!(e.kind(), ErrorKind::Storage);
        assert_eq!(e.to_string(), "i/o error: disk on fire");
        assert!(std::error::Error::source(&e).is_some());
    }
}

#[cfg(test)]
mod golden {
    use super::ErrorKind;

    /// `tests/golden/error_codes.txt` is the one table the Rust, C and Python suites check.
    #[test]
    fn the_golden_error_table_matches_error_kind() {
        let table = include_str!("../../tests/golden/error_codes.txt");
        let rows: Vec<Vec<&str>> = table.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows.len(), ErrorKind::ALL.len() + 1);
        for kind in ErrorKind::ALL {
            let row = rows.iter().find(|r| r[0] == (kind as i32).to_string()).unwrap_or_else(|| panic!("{kind:?} missing"));
            assert_eq!((row[1], row[2], row[3]), (kind.name(), kind.code(), kind.http_status().to_string().as_str()));
        }
    }
}
