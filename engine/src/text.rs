//! Small text utilities shared by chunking and composing.

/// Splits text into sentences at `.`, `!`, `?` followed by whitespace, and at line breaks of
/// list items. Keeps the punctuation; trims Markdown bullets and emphasis.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = clean_markdown(line);
        if line.is_empty() {
            continue;
        }
        let mut start = 0;
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            let end_mark = matches!(bytes[i], b'.' | b'!' | b'?');
            let next_space = bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace());
            // "e.g." / "3.5" / "St." stay inside a sentence: require a space then an uppercase
            // letter, a digit or a currency sign, or the end.
            let next_start = bytes.get(i + 2).is_none_or(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b >= 0x80 || *b == b'$');
            if end_mark && next_space && next_start && i + 1 - start > 2 {
                out.push(line[start..=i].trim().to_string());
                start = i + 1;
            }
        }
        let rest = line[start..].trim();
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

/// Removes Markdown list markers, heading hashes and emphasis from one line.
pub(crate) fn clean_markdown(line: &str) -> String {
    let mut l = line.trim();
    l = l.trim_start_matches('#').trim_start();
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = l.strip_prefix(bullet) {
            l = rest;
        }
    }
    if let Some(pos) = l.find(". ") {
        if l[..pos].chars().all(|c| c.is_ascii_digit()) && pos > 0 {
            l = &l[pos + 2..];
        }
    }
    l.replace("**", "").replace("__", "").replace('`', "")
}

/// Counts tokens the way Brain counts them without a model: each word and each punctuation mark.
pub fn count_tokens(text: &str) -> u32 {
    let mut n = 0u32;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                n += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if !c.is_whitespace() {
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_but_not_decimals_or_abbreviations() {
        let s = sentences("Delivery is $7.50 within 5 miles. Free over $100! Call e.g. the shop.\n- Bullet **bold** item");
        assert_eq!(s, vec!["Delivery is $7.50 within 5 miles.", "Free over $100!", "Call e.g. the shop.", "Bullet bold item"]);
    }

    #[test]
    fn counts_words_and_punctuation() {
        assert_eq!(count_tokens("Hi, it's $7.50!"), 10);
    }
}
