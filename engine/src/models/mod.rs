//! Local models run in-process with candle (feature `models`, on by default): a GGUF chat model
//! ([`LocalModel`], a [`crate::Generator`]) and a BERT sentence embedder ([`BertEmbedder`], a
//! [`crate::Embedder`]). Both load from files; `scripts/fetch-models.sh` fetches the defaults
//! (SmolLM2-135M-Instruct Q4_1 and all-MiniLM-L6-v2) into `models/`.

mod chat;
mod embed;
mod llm;
mod tokenizer;

pub use chat::ChatTemplate;
pub use embed::{BertEmbedder, default_models_dir};
pub use llm::{LocalModel, ModelOptions, Output, SamplingOptions, SharedModel, StopReason, WeightFormat};
pub use tokenizer::{SpecialTokens, from_gguf as tokenizer_from_gguf, special_tokens};

/// The default chat model's file under [`default_models_dir`].
pub const DEFAULT_CHAT_MODEL: &str = "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// The default embedder's folder under [`default_models_dir`].
pub const DEFAULT_EMBEDDER: &str = "minilm";

/// Loads the default chat model from [`default_models_dir`].
///
/// # Errors
/// `Model` if it is not there (run `scripts/fetch-models.sh`) or cannot be loaded.
pub fn default_chat_model(options: &ModelOptions) -> crate::Result<LocalModel> {
    LocalModel::load(default_models_dir().join(DEFAULT_CHAT_MODEL), options)
}

/// Loads the default embedder from [`default_models_dir`].
///
/// # Errors
/// `Model` if it is not there (run `scripts/fetch-models.sh`) or cannot be loaded.
pub fn default_embedder() -> crate::Result<BertEmbedder> {
    BertEmbedder::load(default_models_dir().join(DEFAULT_EMBEDDER))
}
