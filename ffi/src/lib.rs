//! The C ABI of Brain. This crate holds conversion and the panic boundary only; all logic lives
//! in the `brain` crate. The header `include/brain.h` is generated from these items by cbindgen.
// The safety contract of every export (valid pointers or NULL, NUL-terminated strings) is stated
// in brain.h; C callers cannot see a Rust `unsafe` marker, so the exports are plain `extern "C"`.
#![allow(clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

#[macro_use]
mod boundary;
mod callbacks;
mod engine;
mod error;
mod string;

pub use callbacks::*;
pub use engine::*;
pub use error::*;
pub use string::*;

/// The library version as MAJOR * 1000000 + MINOR * 1000 + PATCH; equals BRAIN_VERSION_NUMBER of
/// the header it was built with.
#[unsafe(no_mangle)]
pub extern "C" fn brain_version_number() -> u32 {
    version_number()
}

fn version_number() -> u32 {
    let p = |s: &str| s.parse::<u32>().unwrap_or(0);
    p(env!("CARGO_PKG_VERSION_MAJOR")) * 1_000_000 + p(env!("CARGO_PKG_VERSION_MINOR")) * 1000 + p(env!("CARGO_PKG_VERSION_PATCH"))
}

/// The library version as "MAJOR.MINOR.PATCH" (static storage; do not free).
#[unsafe(no_mangle)]
pub extern "C" fn brain_version_string() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_header_version_macros_match_cargo_toml() {
        let config = include_str!("../cbindgen.toml");
        let number = super::version_number();
        for (name, value) in [
            ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR").to_string()),
            ("MINOR", env!("CARGO_PKG_VERSION_MINOR").to_string()),
            ("PATCH", env!("CARGO_PKG_VERSION_PATCH").to_string()),
            ("NUMBER", number.to_string()),
        ] {
            let line = format!("#define BRAIN_VERSION_{name} {value}\n");
            assert!(config.contains(&line), "ffi/cbindgen.toml must say `{}`", line.trim());
        }
    }
}
