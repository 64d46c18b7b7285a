//! Chat templates: the prompt layout a model was trained on, detected from the template it
//! declares (`tokenizer.chat_template`) and rendered without a Jinja engine.

use crate::compose::ChatMessage;

/// A prompt layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` … `<|im_start|>assistant\n` (SmolLM2, Qwen).
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    Llama3,
}

impl ChatTemplate {
    /// The layout a Jinja chat template describes; ChatML when none is declared.
    pub fn detect(jinja: Option<&str>) -> ChatTemplate {
        match jinja {
            Some(t) if t.contains("<|start_header_id|>") => ChatTemplate::Llama3,
            _ => ChatTemplate::ChatMl,
        }
    }

    /// Name for traces and `--help`.
    pub fn name(self) -> &'static str {
        match self {
            ChatTemplate::ChatMl => "chatml",
            ChatTemplate::Llama3 => "llama3",
        }
    }

    /// Token strings that end an assistant turn in this layout.
    pub fn stop_strings(self) -> &'static [&'static str] {
        match self {
            ChatTemplate::ChatMl => &["<|im_end|>", "<|endoftext|>"],
            ChatTemplate::Llama3 => &["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"],
        }
    }

    /// The prompt for `system` + `messages`, ending where the assistant's reply begins.
    /// `bos` is prepended when the model wants it and the layout does not already carry it.
    pub fn render(self, system: &str, messages: &[ChatMessage], bos: Option<&str>) -> String {
        let mut out = String::new();
        match self {
            ChatTemplate::ChatMl => {
                if let Some(b) = bos {
                    out.push_str(b);
                }
                let turn = |out: &mut String, role: &str, content: &str| {
                    out.push_str("<|im_start|>");
                    out.push_str(role);
                    out.push('\n');
                    out.push_str(content);
                    out.push_str("<|im_end|>\n");
                };
                if !system.is_empty() {
                    turn(&mut out, "system", system);
                }
                for m in messages {
                    turn(&mut out, role(&m.role), &m.content);
                }
                out.push_str("<|im_start|>assistant\n");
            }
            ChatTemplate::Llama3 => {
                out.push_str(bos.unwrap_or("<|begin_of_text|>"));
                let turn = |out: &mut String, role: &str, content: &str| {
                    out.push_str("<|start_header_id|>");
                    out.push_str(role);
                    out.push_str("<|end_header_id|>\n\n");
                    out.push_str(content.trim());
                    out.push_str("<|eot_id|>");
                };
                if !system.is_empty() {
                    turn(&mut out, "system", system);
                }
                for m in messages {
                    turn(&mut out, role(&m.role), &m.content);
                }
                out.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
        }
        out
    }
}

fn role(r: &str) -> &str {
    match r {
        "assistant" | "bot" => "assistant",
        "system" => "system",
        _ => "user",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: &str, content: &str) -> ChatMessage {
        ChatMessage { role: role.into(), content: content.into() }
    }

    #[test]
    fn chatml_renders_like_the_smollm2_jinja_template() {
        // What SmolLM2's template produces for a system message, two turns and
        // add_generation_prompt=true.
        let expected = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nPrice?<|im_end|>\n<|im_start|>assistant\n";
        let got = ChatTemplate::ChatMl.render("Be brief.", &[msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "Price?")], None);
        assert_eq!(got, expected);
    }

    #[test]
    fn llama3_layout_is_detected_and_rendered() {
        let t = ChatTemplate::detect(Some("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"));
        assert_eq!(t, ChatTemplate::Llama3);
        let got = t.render("S", &[msg("user", "Q")], None);
        assert_eq!(
            got,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        assert_eq!(ChatTemplate::detect(None), ChatTemplate::ChatMl);
        assert_eq!(ChatTemplate::detect(Some("{% for m in messages %}<|im_start|>{% endfor %}")), ChatTemplate::ChatMl);
    }
}
