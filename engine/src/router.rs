//! The smart router: per turn, which composer answers — the grounded composer, the local model,
//! the host's generator, or (for an image) an image-capable generator or an honest request to
//! describe it.
//!
//! The grounded composer always runs first (microseconds): its decision says what kind of turn
//! this is, and its reply is the fallback when a generator fails, stalls, or strays from what the
//! turn read. Which kinds go to which generator is configuration; the defaults come from
//! `make eval-models` (engine/examples/eval_models.rs) on the 196 labelled FAQ turns: the local
//! SmolLM2-135M, even under the rails, answered fewer of them with the right facts than the
//! grounded composer in every kind (catalog 43 vs 45 of 46, fact 31 vs 33 of 33, passage 97 vs
//! 101 of 112, tools 5 vs 5), so [`RoutePolicy::default`] sends it none in `auto`. A host's own
//! generator (typically a large model) gets every open-ended kind.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::compose::Generator;

/// How turns are routed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteMode {
    /// By turn kind: the host generator where configured, the local model for the kinds in
    /// [`RoutePolicy::local_kinds`], the grounded composer otherwise.
    #[default]
    Auto,
    /// Never generate.
    Grounded,
    /// Every open-ended turn to the local model (still rail-checked, grounded fallback).
    Local,
    /// Every open-ended turn to the host generator.
    Host,
}

/// Router configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoutePolicy {
    /// The mode.
    pub mode: RouteMode,
    /// Grounded-composer decisions the local model answers in [`RouteMode::Auto`].
    pub local_kinds: Vec<String>,
    /// Grounded-composer decisions the host generator answers in [`RouteMode::Auto`] (`*`: all).
    pub host_kinds: Vec<String>,
    /// How long a generator may take before the turn answers without it.
    #[serde(with = "millis", default = "default_timeout")]
    pub generation_timeout: std::time::Duration,
}

/// The default [`RoutePolicy::generation_timeout`].
pub const DEFAULT_GENERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn default_timeout() -> std::time::Duration {
    DEFAULT_GENERATION_TIMEOUT
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        Ok(std::time::Duration::from_millis(u64::deserialize(d)?))
    }
}

impl Default for RoutePolicy {
    fn default() -> Self {
        RoutePolicy {
            mode: RouteMode::Auto,
            local_kinds: Vec::new(),
            host_kinds: vec!["*".to_string()],
            generation_timeout: DEFAULT_GENERATION_TIMEOUT,
        }
    }
}

/// Where a turn went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The grounded composer (or the host's own composer, if one replaced it).
    Grounded,
    /// The local model.
    Local,
    /// The host's generator.
    Host,
    /// An image-capable generator, for a message with an image.
    Image,
    /// A message with an image and no image-capable generator: the customer is asked to
    /// describe it.
    DescribeImage,
}

impl Route {
    /// The label in traces and response metadata.
    pub fn as_str(&self) -> &'static str {
        match self {
            Route::Grounded => "grounded",
            Route::Local => "local_model",
            Route::Host => "host_generator",
            Route::Image => "image_generator",
            Route::DescribeImage => "describe_image",
        }
    }
}

/// The generators a router can send turns to.
#[derive(Clone, Default)]
pub(crate) struct Generators {
    pub local: Option<Arc<dyn Generator>>,
    pub host: Option<Arc<dyn Generator>>,
    pub policy: RoutePolicy,
}

/// What the router looks at.
pub(crate) struct RouteInput<'a> {
    pub has_image: bool,
    /// The grounded composer's decision for this turn.
    pub grounded_decision: &'a str,
    /// Tools ran or the planner has something to say: phrased deterministically.
    pub deterministic: bool,
}

/// Decision kinds the grounded composer always phrases itself.
const DETERMINISTIC_KINDS: [&str; 2] = ["greeting", "smalltalk"];

impl Generators {
    /// Chooses the route, and the generator for it (none for the grounded routes).
    pub(crate) fn choose(&self, input: &RouteInput<'_>) -> (Route, Option<Arc<dyn Generator>>) {
        if input.has_image {
            let image = [&self.host, &self.local].into_iter().flatten().find(|g| g.accepts_images());
            return match image {
                Some(g) => (Route::Image, Some(g.clone())),
                None => (Route::DescribeImage, None),
            };
        }
        let kind = input.grounded_decision;
        if input.deterministic || DETERMINISTIC_KINDS.contains(&kind) {
            return (Route::Grounded, None);
        }
        let pick = |route: Route, g: &Option<Arc<dyn Generator>>| g.clone().map(|g| (route, Some(g)));
        let p = &self.policy;
        let chosen = match p.mode {
            RouteMode::Grounded => None,
            RouteMode::Local => pick(Route::Local, &self.local),
            RouteMode::Host => pick(Route::Host, &self.host),
            RouteMode::Auto => {
                let wants = |kinds: &[String]| kinds.iter().any(|k| k == kind || k == "*");
                (if wants(&p.host_kinds) { pick(Route::Host, &self.host) } else { None })
                    .or_else(|| if wants(&p.local_kinds) { pick(Route::Local, &self.local) } else { None })
            }
        };
        chosen.unwrap_or((Route::Grounded, None))
    }
}

impl std::str::FromStr for RouteMode {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<RouteMode> {
        match s {
            "auto" => Ok(RouteMode::Auto),
            "grounded" => Ok(RouteMode::Grounded),
            "local" => Ok(RouteMode::Local),
            "host" => Ok(RouteMode::Host),
            other => Err(crate::Error::bad_request(format!("unknown route mode {other:?}: use auto, grounded, local or host"))),
        }
    }
}
