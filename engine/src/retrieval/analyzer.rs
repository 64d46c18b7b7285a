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

/// Groups of words customers use for the same thing; a query term also matches the others of
/// its group (at a lower weight). One-way entries map a word to the words it stands for.
const SYNONYMS: &[&[&str]] = &[
    &["kid", "kids", "child", "children", "toddler"],
    &["swap", "exchange"],
    &["refund", "money back", "reimburse"],
    &["cancel", "cancellation"],
    &["deliver", "delivery", "shipping", "ship"],
    &["price", "cost", "fee", "charge"],
    &["park", "parking"],
    &["outage", "down", "status"],
    &["address", "location", "located"],
    &["phone", "call", "telephone"],
    &["return", "send back"],
    &["hours", "open", "opening"],
    &["pay", "payment"],
    &["book", "booking", "reserve", "reservation"],
];
const ONE_WAY: &[(&str, &[&str])] = &[
    ("weekday", &["monday", "friday"]),
    ("weekdays", &["monday", "friday"]),
    ("weekend", &["saturday", "sunday"]),
    ("weekends", &["saturday", "sunday"]),
];

#[derive(Clone)]
pub(crate) struct Analyzer {
    inner: TextAnalyzer,
    synonyms: std::collections::HashMap<String, Vec<String>>,
}

impl Analyzer {
    pub(crate) fn new() -> Analyzer {
        let mut a = Analyzer { inner: Self::build(), synonyms: Default::default() };
        let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
        for group in SYNONYMS {
            // Multi-word entries ("money back") contribute all their terms.
            let stems: Vec<Vec<String>> = group.iter().map(|w| a.terms(w)).collect();
            for (i, own) in stems.iter().enumerate() {
                // A multi-word entry ("money back") is keyed by its first word only.
                for key in own.iter().take(1) {
                    let entry = map.entry(key.clone()).or_default();
                    for (j, other) in stems.iter().enumerate() {
                        if i != j && other.len() == 1 && !own.contains(&other[0]) && !entry.contains(&other[0]) {
                            entry.push(other[0].clone());
                        }
                    }
                }
            }
        }
        for (word, targets) in ONE_WAY {
            for key in a.terms(word) {
                let entry = map.entry(key).or_default();
                for t in *targets {
                    entry.extend(a.terms(t));
                }
            }
        }
        a.synonyms = map;
        a
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

    /// Other index terms that stand for the same thing as `term`.
    pub(crate) fn synonyms(&self, term: &str) -> &[String] {
        self.synonyms.get(term).map(Vec::as_slice).unwrap_or(&[])
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
        assert!(a.synonyms("kid").contains(&"child".to_string()));
        assert!(a.synonyms("swap").contains(&"exchang".to_string()));
        assert!(a.synonyms("weekday").contains(&"monday".to_string()));
    }
}
