//! Local models run in-process with candle (feature `models`, on by default): a GGUF chat model
//! ([`LocalModel`], a [`crate::Generator`]) and a BERT sentence embedder ([`BertEmbedder`], a
//! [`crate::Embedder`]). Both load from files; `scripts/fetch-models.sh` fetches the defaults
//! (SmolLM2-135M-Instruct Q4_1 and all-MiniLM-L6-v2) into `models/`.

mod chat;
mod embed;
mod llm;
mod native;
mod tokenizer;

pub use chat::ChatTemplate;
pub use embed::{BertEmbedder, EmbedBackend, default_models_dir};
pub use llm::{Backend, LocalModel, ModelOptions, Output, SamplingOptions, SharedModel, StopReason, WeightFormat};
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

/// Which local models an engine uses, as the CLI, C and Python hosts give it: paths (or
/// `"default"` for the fetched defaults), the routing mode and the thread count.
#[derive(Clone, Debug, Default)]
pub struct ModelSetup {
    /// A GGUF chat model for the router's local route; `"default"` = [`DEFAULT_CHAT_MODEL`].
    pub chat_model: Option<String>,
    /// A folder with model.safetensors, config.json and tokenizer.json; `"default"` =
    /// [`DEFAULT_EMBEDDER`].
    pub embedder: Option<String>,
    /// Routing mode; `None` keeps the engine's.
    pub route: Option<crate::RouteMode>,
    /// Compute threads (process-wide, first load wins).
    pub threads: Option<usize>,
}

impl ModelSetup {
    /// Loads the models and gives them to `engine` (embedding any chunk without a vector),
    /// reporting progress as it goes.
    ///
    /// # Errors
    /// `Model` naming the file that cannot be loaded; `BadRequest` for an unusable setting.
    pub fn apply(&self, engine: &crate::Engine, progress: &mut dyn FnMut(crate::Progress<'_>)) -> crate::Result<()> {
        llm::set_threads(self.threads);
        if let Some(p) = &self.chat_model {
            let path = if p == "default" { default_models_dir().join(DEFAULT_CHAT_MODEL) } else { std::path::PathBuf::from(p) };
            let label = format!("loading {}", path.display());
            let model = LocalModel::load_with_progress(&path, &ModelOptions { threads: self.threads, ..Default::default() }, &mut |done, total| {
                progress(crate::Progress { done, total, item: &label })
            })?;
            engine.set_local_model(Some(std::sync::Arc::new(model)));
        }
        if let Some(d) = &self.embedder {
            let dir = if d == "default" { default_models_dir().join(DEFAULT_EMBEDDER) } else { std::path::PathBuf::from(d) };
            let e = BertEmbedder::load(&dir)?;
            engine.set_embedder(Some(std::sync::Arc::new(e)), progress)?;
        }
        if let Some(mode) = self.route {
            if mode == crate::RouteMode::Local && self.chat_model.is_none() {
                return Err(crate::Error::bad_request("route `local` needs a chat model: give one (or `default`)"));
            }
            engine.set_route_policy(crate::RoutePolicy { mode, ..engine.route_policy() });
        }
        Ok(())
    }
}
