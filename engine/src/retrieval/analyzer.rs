//! The English analyzer shared by indexing and querying: split, lowercase, fold accents, drop
//! stop words, stem. Changing it changes what the index means: bump the schema if you do.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};

/// Words that carry no topic. Question words stay out of the index; intent detection reads the raw
/// message instead.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do",
    "does", "for", "from", "get", "got", "had", "has", "have", "hello", "hey", "hi", "how", "i", "i'm", "if", "in",
    "into", "is", "it", "its", "just", "know", "like", "me", "my", "need", "of", "on", "or", "our", "please", "s",
    "should", "so", "some", "tell", "than", "thank", "thanks", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "too", "us", "want", "was", "we", "what", "when", "where", "which", "who", "why",
    "will", "with", "would", "you", "your", "yours", "much", "many", "t", "m", "ll", "re", "ve", "d", "also", "there",
    "here", "im", "wanna", "gonna", "ok", "okay", "let", "lets",
];

#[derive(Clone)]
pub(crate) struct Analyzer {
    inner: TextAnalyzer,
}

impl Analyzer {
    pub(crate) fn new() -> Analyzer {
        Analyzer { inner: Self::build() }
    }

    fn build() -> TextAnalyzer {
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(StopWordFilter::remove(STOP_WORDS.iter().map(|s| s.to_string())))
            .filter(Stemmer::new(Language::English))
            .build()
    }

    pub(crate) fn text_analyzer(&self) -> TextAnalyzer {
        self.inner.clone()
    }

    /// The index terms of `text`, in order, duplicates kept.
    pub(crate) fn terms(&self, text: &str) -> Vec<String> {
        let mut a = self.inner.clone();
        let mut stream = a.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_folds_and_drops_stop_words() {
        let a = Analyzer::new();
        assert_eq!(a.terms("What are your Opening Hours?"), vec!["open", "hour"]);
        assert_eq!(a.terms("Café deliveries"), vec!["cafe", "deliveri"]);
    }
}
