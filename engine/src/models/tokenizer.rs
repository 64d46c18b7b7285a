//! Byte-level BPE tokenizers built from a GGUF file's own metadata (`tokenizer.ggml.*`), so a
//! GGUF model needs no `tokenizer.json` beside it.
//!
//! The pre-tokenizer follows the file's `tokenizer.ggml.pre` the way llama.cpp does: SmolLM /
//! StarCoder split every digit on its own, then apply the GPT-2 word regex, with no prefix space;
//! Llama-3 and Qwen2 use their own split regexes. Tokens of type 3 (control) and 4 (user-defined)
//! become special tokens, so `<|im_start|>` in a rendered template is one id, as the model was
//! trained.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::tokenizer::SplitDelimiterBehavior;
use tokenizers::{AddedToken, PreTokenizerWrapper, Tokenizer};

use crate::error::{Error, ErrorKind, Result};

const REGEX_LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const REGEX_QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Special token ids a generator needs, read from the GGUF metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecialTokens {
    /// Beginning of sequence, if the model declares one.
    pub bos: Option<u32>,
    /// End of sequence.
    pub eos: Option<u32>,
    /// Whether the model expects BOS prepended to every prompt.
    pub add_bos: bool,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Model, msg)
}

fn meta<'a>(ct: &'a Content, key: &str) -> Option<&'a Value> {
    ct.metadata.get(key)
}

fn meta_u32(ct: &Content, key: &str) -> Option<u32> {
    meta(ct, key).and_then(|v| match v {
        Value::U8(x) => Some(*x as u32),
        Value::U16(x) => Some(*x as u32),
        Value::U32(x) => Some(*x),
        Value::U64(x) => u32::try_from(*x).ok(),
        Value::I32(x) => u32::try_from(*x).ok(),
        Value::I64(x) => u32::try_from(*x).ok(),
        _ => None,
    })
}

fn strings(ct: &Content, key: &str) -> Result<Vec<String>> {
    let v = meta(ct, key).ok_or_else(|| bad(format!("the GGUF file has no `{key}`: give a tokenizer.json beside it")))?;
    let arr = v.to_vec().map_err(|_| bad(format!("`{key}` in the GGUF file is not an array")))?;
    arr.iter()
        .map(|v| v.to_string().cloned().map_err(|_| bad(format!("`{key}` in the GGUF file holds a non-string"))))
        .collect()
}

/// The special tokens the GGUF metadata declares.
pub fn special_tokens(ct: &Content) -> SpecialTokens {
    SpecialTokens {
        bos: meta_u32(ct, "tokenizer.ggml.bos_token_id"),
        eos: meta_u32(ct, "tokenizer.ggml.eos_token_id"),
        add_bos: meta(ct, "tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false),
    }
}

fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
    let split = |regex: &str| -> Result<PreTokenizerWrapper> {
        let s = Split::new(SplitPattern::Regex(regex.to_string()), SplitDelimiterBehavior::Isolated, false)
            .map_err(|e| bad(format!("cannot build the `{pre}` pre-tokenizer: {e}")))?;
        Ok(s.into())
    };
    Ok(match pre {
        "llama3" | "llama-bpe" | "smaug-bpe" | "lfm2" | "falcon3" | "pixtral" => {
            Sequence::new(vec![split(REGEX_LLAMA3)?, ByteLevel::new(false, false, false).into()]).into()
        }
        "qwen2" | "deepseek-r1-qwen" => Sequence::new(vec![split(REGEX_QWEN2)?, ByteLevel::new(false, false, false).into()]).into(),
        // smollm, starcoder, refact, codeshell, exaone, minerva: digits one by one, then GPT-2.
        "smollm" | "starcoder" | "refact" | "codeshell" | "exaone" | "minerva" | "command-r" => {
            Sequence::new(vec![Digits::new(true).into(), ByteLevel::new(false, false, true).into()]).into()
        }
        // gpt2 and anything unknown: the GPT-2 regex, no prefix space.
        _ => ByteLevel::new(false, false, true).into(),
    })
}

/// Builds the tokenizer a GGUF file describes.
///
/// # Errors
/// `Model` when the file lacks the tokenizer metadata or uses a tokenizer type other than
/// byte-level BPE (`gpt2`); give a `tokenizer.json` for those.
pub fn from_gguf(ct: &Content) -> Result<Tokenizer> {
    let model = meta(ct, "tokenizer.ggml.model").and_then(|v| v.to_string().ok()).map(String::as_str).unwrap_or("");
    if model != "gpt2" {
        return Err(bad(format!(
            "the GGUF tokenizer is `{model}`; Brain builds byte-level BPE (`gpt2`) tokenizers from GGUF metadata — put the model's tokenizer.json beside the .gguf file"
        )));
    }
    let tokens = strings(ct, "tokenizer.ggml.tokens")?;
    let merges = strings(ct, "tokenizer.ggml.merges")?;
    let types: Vec<i64> = match meta(ct, "tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok()) {
        Some(v) => v.iter().map(|t| t.to_i32().map(i64::from).or_else(|_| t.to_u32().map(i64::from)).unwrap_or(1)).collect(),
        None => vec![1; tokens.len()],
    };
    let pre = meta(ct, "tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).map(String::as_str).unwrap_or("gpt2");

    let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let merges: Vec<(String, String)> = merges
        .iter()
        .map(|m| m.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())).ok_or_else(|| bad(format!("GGUF merge `{m}` is not a pair"))))
        .collect::<Result<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| bad(format!("cannot build the BPE model from the GGUF vocabulary: {e}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
    tokenizer.with_decoder(Some(ByteLevelDecoder::new(false, false, true)));
    // Control (3) and user-defined (4) tokens are matched whole before BPE.
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(types.iter().chain(std::iter::repeat(&1)))
        .filter(|(_, t)| **t == 3 || **t == 4)
        .map(|(tok, t)| AddedToken::from(tok.clone(), *t == 3))
        .collect();
    tokenizer.add_special_tokens(special).map_err(|e| bad(format!("cannot add the special tokens: {e}")))?;
    Ok(tokenizer)
}
