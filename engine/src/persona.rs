//! Personas: who the assistant is, how it speaks, what it knows it may talk about.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A tenant's assistant: identity, voice, canned messages, prompt sections, business facts,
/// topic boundaries, tool allowlist and guardrail policy.
///
/// Loaded from a marketplace vertical ([`crate::Engine::marketplace_apply`]) or from a TOML file of
/// the user's own ([`Persona::from_toml_str`], the `[persona]` table of a pack).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    /// The name the assistant introduces itself with (`assistant_name` in every response).
    pub assistant_name: String,
    /// The business the assistant works for.
    #[serde(default)]
    pub business_name: String,
    /// A few words on the voice ("warm, upbeat, concise").
    #[serde(default)]
    pub tone: String,
    /// The reply to a greeting.
    pub greeting: String,
    /// The reply when nothing relevant is known.
    pub fallback: String,
    /// The reply when handing the conversation to a human.
    #[serde(default)]
    pub escalation: String,
    /// Topics the assistant may discuss.
    #[serde(default)]
    pub allowed_topics: Vec<String>,
    /// Topics the assistant must refuse.
    #[serde(default)]
    pub prohibited_topics: Vec<String>,
    /// System prompt sections.
    #[serde(default)]
    pub prompt: PromptSections,
    /// Business facts: hours, location, contact.
    #[serde(default)]
    pub facts: BusinessFacts,
    /// Tools this persona may call (namespaced names). Empty means none.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Guardrail policy (TOML table), interpreted by the guardrails stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrails: Option<toml::Table>,
}

/// The sections of a persona's system prompt.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptSections {
    /// Who the assistant is.
    #[serde(default)]
    pub identity: String,
    /// How it behaves.
    #[serde(default)]
    pub behaviour: String,
    /// What it may and may not claim to know.
    #[serde(default)]
    pub knowledge_boundaries: String,
}

/// Facts about the business that the assistant states as they are written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessFacts {
    /// Opening hours.
    #[serde(default)]
    pub hours: String,
    /// Address or area served.
    #[serde(default)]
    pub location: String,
    /// Phone number.
    #[serde(default)]
    pub phone: String,
    /// Email address.
    #[serde(default)]
    pub email: String,
    /// Website.
    #[serde(default)]
    pub website: String,
    /// Any other named facts.
    #[serde(default, flatten)]
    pub other: BTreeMap<String, String>,
}

impl Persona {
    /// Parses a persona from TOML: either a bare persona table or a document with a `[persona]`
    /// table (the shape of a marketplace pack).
    ///
    /// # Errors
    /// `BadRequest` with the TOML parser's message (line and column) or the missing field.
    pub fn from_toml_str(text: &str) -> Result<Persona> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| Error::bad_request(format!("persona TOML is invalid: {e}")))?;
        let table = match table.get("persona") {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => table,
        };
        let persona: Persona = table
            .try_into()
            .map_err(|e| Error::bad_request(format!("persona TOML is invalid: {e}")))?;
        persona.validate()?;
        Ok(persona)
    }

    /// Checks that the fields a reply depends on are present.
    ///
    /// # Errors
    /// `BadRequest` naming the empty field.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("assistant_name", &self.assistant_name),
            ("greeting", &self.greeting),
            ("fallback", &self.fallback),
        ] {
            if value.trim().is_empty() {
                return Err(Error::bad_request(format!("persona field `{name}` must not be empty")));
            }
        }
        Ok(())
    }

    /// The system prompt, rendered from its sections (used by model-backed composers).
    pub fn system_prompt(&self) -> String {
        let mut out = String::new();
        let mut section = |title: &str, body: &str| {
            if !body.trim().is_empty() {
                out.push_str(&format!("## {title}\n{}\n\n", body.trim()));
            }
        };
        section("Identity", &self.prompt.identity);
        section("Behaviour", &self.prompt.behaviour);
        section("Knowledge boundaries", &self.prompt.knowledge_boundaries);
        if !self.prohibited_topics.is_empty() {
            section("Prohibited topics", &format!("Never discuss: {}.", self.prohibited_topics.join(", ")));
        }
        let f = &self.facts;
        let facts: Vec<String> = [
            ("Hours", &f.hours),
            ("Location", &f.location),
            ("Phone", &f.phone),
            ("Email", &f.email),
            ("Website", &f.website),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("- {k}: {v}"))
        .collect();
        section("Business facts", &facts.join("\n"));
        out.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_bare_or_wrapped_persona_and_names_missing_fields() {
        let bare = "assistant_name = \"Max\"\ngreeting = \"Hi\"\nfallback = \"Sorry\"\n[facts]\nhours = \"9-5\"\n";
        let p = Persona::from_toml_str(bare).unwrap();
        assert_eq!(p.facts.hours, "9-5");
        let wrapped = format!("key = \"x\"\n[persona]\n{}", bare.replace("[facts]", "[persona.facts]"));
        assert_eq!(Persona::from_toml_str(&wrapped).unwrap(), p);
        let e = Persona::from_toml_str("assistant_name = \"Max\"\ngreeting = \"\"\nfallback = \"x\"").unwrap_err();
        assert!(e.to_string().contains("`greeting`"), "{e}");
        let e = Persona::from_toml_str("greeting = \"hi\"").unwrap_err();
        assert!(e.to_string().contains("assistant_name"), "{e}");
        assert!(p.system_prompt().contains("- Hours: 9-5"));
    }
}
