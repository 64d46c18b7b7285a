//! Gives the shared library a SONAME so C programs link against `libbrain.so.0`.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbrain.so.{}", env!("CARGO_PKG_VERSION_MAJOR"));
    println!("cargo:rerun-if-changed=build.rs");
}
