//! Brain's numeric core for local models, kept in its own crate so it is built optimized even in
//! debug builds and tests: quantized matrix kernels ([`quant`]), a small persistent thread pool
//! ([`pool`]), the Llama forward pass ([`llama`]) and a BERT sentence encoder ([`bert`]).

pub mod bert;
pub mod llama;
pub mod pool;
pub mod quant;
