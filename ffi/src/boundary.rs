//! The panic boundary: every export runs its body through [`ffi_boundary!`], so a Rust panic
//! becomes BRAIN_STATUS_INTERNAL (or NULL/0 for non-status returns), never an unwind into C.

/// Runs `$body` (returning `Result<(), brain::Error>`), writes the error, returns the status.
macro_rules! ffi_boundary {
    ($error:expr, $body:block) => {{
        let error_out: *mut *mut $crate::error::brain_error = $error;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<(), brain::Error> { $body }));
        $crate::error::finish(outcome, error_out)
    }};
}
