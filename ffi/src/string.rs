//! Strings across the boundary: inputs checked for NULL and UTF-8, outputs owned by the caller.

use std::ffi::{CStr, CString, c_char};

use brain::{Error, ErrorKind};

/// Borrows a C string argument as UTF-8; NULL or invalid UTF-8 is BAD_REQUEST naming `what`.
pub(crate) fn arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::new(ErrorKind::BadRequest, format!("`{what}` must not be NULL")));
    }
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::new(ErrorKind::BadRequest, format!("`{what}` is not valid UTF-8")))
}

/// Like [`arg`], with NULL meaning "not given".
pub(crate) fn opt_arg<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Error> {
    if p.is_null() { Ok(None) } else { arg(p, what).map(Some) }
}

/// Hands a Rust string to C (to be freed with brain_string_free).
pub(crate) fn give(s: String) -> *mut c_char {
    CString::new(s.replace('\0', " ")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// Writes `value` to `*out` (which must not be NULL).
pub(crate) fn put(out: *mut *mut c_char, value: String) -> Result<(), Error> {
    if out.is_null() {
        return Err(Error::new(ErrorKind::BadRequest, "the output pointer must not be NULL"));
    }
    unsafe { *out = give(value) };
    Ok(())
}

/// Sets `*out` to NULL when `out` is not NULL (failure path).
pub(crate) fn clear<T>(out: *mut *mut T) {
    if !out.is_null() {
        unsafe { *out = std::ptr::null_mut() };
    }
}

/// Frees a string Brain returned. NULL is a no-op. Never pass a string Brain did not allocate.
#[unsafe(no_mangle)]
pub extern "C" fn brain_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(unsafe { CString::from_raw(s) });
    }
}

/// A result slot a callback fills with brain_buffer_set(); Brain copies the text, so the host
/// keeps ownership of what it passes. Valid only during the callback that received it.
#[allow(non_camel_case_types)]
pub struct brain_buffer {
    pub(crate) value: Option<String>,
}


/// Copies the NUL-terminated UTF-8 `text` into `buffer`. Returns 0, or -1 when `buffer` or `text`
/// is NULL or `text` is not UTF-8 (the callback's result then counts as garbage).
#[unsafe(no_mangle)]
pub extern "C" fn brain_buffer_set(buffer: *mut brain_buffer, text: *const c_char) -> i32 {
    let Some(b) = (unsafe { buffer.as_mut() }) else { return -1 };
    match arg(text, "text") {
        Ok(t) => {
            b.value = Some(t.to_string());
            0
        }
        Err(_) => -1,
    }
}
