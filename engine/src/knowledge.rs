//! The knowledge a tenant's assistant answers from: KB documents (chunked), catalog items and
//! business facts, written to SQLite and the tantivy index together.
//!
//! Every change runs inside one SQLite transaction while holding the index writer; the index is
//! committed only after SQLite commits, so the next turn sees either all of a change or none of it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::CatalogItem;
use crate::error::{Error, Result};
use crate::marketplace::Document;
use crate::persona::BusinessFacts;
use crate::store::ChunkRow;

/// Target size of a chunk, in words. Paragraphs are kept whole up to this size.
const CHUNK_WORDS: usize = 160;

/// Splits a document into retrieval chunks: by heading and paragraph, up to [`CHUNK_WORDS`] words,
/// long paragraphs split at sentence ends.
pub(crate) fn chunk_document(doc: &Document) -> Vec<ChunkRow> {
    let mut chunks = Vec::new();
    let mut section = doc.title.clone();
    let mut current = String::new();
    let mut current_title = section.clone();
    let flush = |chunks: &mut Vec<ChunkRow>, text: &mut String, title: &str| {
        let t = text.trim();
        if !t.is_empty() {
            chunks.push(ChunkRow {
                doc_id: doc.id.clone(),
                ord: chunks.len() as u32,
                kind: "kb".into(),
                title: title.to_string(),
                text: t.to_string(),
            });
        }
        text.clear();
    };
    for para in doc.body.split("\n\n") {
        let para = para.trim();
        if para.is_empty() {
            continue;
        }
        if let Some(h) = para.strip_prefix('#') {
            let (heading, rest) = h.split_once('\n').unwrap_or((h, ""));
            flush(&mut chunks, &mut current, &current_title);
            let heading = heading.trim_start_matches('#').trim();
            section = if heading.eq_ignore_ascii_case(&doc.title) { doc.title.clone() } else { format!("{} — {heading}", doc.title) };
            current_title = section.clone();
            if rest.trim().is_empty() {
                continue;
            }
            push_paragraph(&mut chunks, &mut current, &current_title, rest.trim(), &flush);
            continue;
        }
        push_paragraph(&mut chunks, &mut current, &current_title, para, &flush);
    }
    flush(&mut chunks, &mut current, &current_title);
    if chunks.is_empty() {
        chunks.push(ChunkRow { doc_id: doc.id.clone(), ord: 0, kind: "kb".into(), title: doc.title.clone(), text: doc.title.clone() });
    }
    chunks
}

fn push_paragraph(
    chunks: &mut Vec<ChunkRow>,
    current: &mut String,
    title: &str,
    para: &str,
    flush: &impl Fn(&mut Vec<ChunkRow>, &mut String, &str),
) {
    let words = |s: &str| s.split_whitespace().count();
    if words(current) + words(para) > CHUNK_WORDS && !current.is_empty() {
        flush(chunks, current, title);
    }
    if words(para) <= CHUNK_WORDS {
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(para);
        return;
    }
    for sentence in crate::text::sentences(para) {
        if words(current) + words(&sentence) > CHUNK_WORDS && !current.is_empty() {
            flush(chunks, current, title);
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&sentence);
    }
}

/// The retrieval chunk of a catalog item.
pub(crate) fn catalog_chunk(item: &CatalogItem) -> ChunkRow {
    ChunkRow {
        doc_id: format!("catalog:{}", item.sku),
        ord: 0,
        kind: "catalog".into(),
        title: item.name.clone(),
        text: item.search_text(),
    }
}

/// The retrieval chunks of the business facts. Titles carry the words customers use to ask.
pub(crate) fn fact_chunks(facts: &BusinessFacts) -> Vec<ChunkRow> {
    let mut out = Vec::new();
    let mut add = |name: &str, title: &str, text: String| {
        out.push(ChunkRow { doc_id: format!("fact:{name}"), ord: 0, kind: "fact".into(), title: title.into(), text });
    };
    if !facts.hours.is_empty() {
        add("hours", "Opening hours: when we open and close, opening times", format!("Our opening hours: {}", facts.hours));
    }
    if !facts.location.is_empty() {
        add("location", "Location and address: where to find us, directions", format!("You'll find us at {}", facts.location));
    }
    if !facts.phone.is_empty() {
        add("phone", "Phone number: call us, contact by telephone", format!("You can call us on {}.", facts.phone));
    }
    if !facts.email.is_empty() {
        add("email", "Email address: contact us, write to us", format!("You can email us at {}.", facts.email));
    }
    if !facts.website.is_empty() {
        add("website", "Website: online, web site address", format!("Our website is {}.", facts.website));
    }
    for (k, v) in &facts.other {
        add(k, &k.replace('_', " "), v.clone());
    }
    out
}

pub(crate) fn content_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What one file of an ingest holds.
pub(crate) enum Parsed {
    Document(Document),
    Catalog(Vec<CatalogItem>),
}

/// The source name of an ingested file: `file:` and its canonical path. Document ids and catalog
/// sources use it, so two folders with a `README.md` each never overwrite each other, and
/// re-ingesting a folder can tell which of its files went away.
pub(crate) fn file_source(canonical: &Path) -> String {
    format!("file:{}", canonical.to_string_lossy().replace('\\', "/"))
}

/// The canonical form of `path`, and the files under it that ingest reads, sorted, each with its
/// path relative to `path` (for progress lines).
pub(crate) fn ingest_files(path: &Path) -> Result<(PathBuf, Vec<(PathBuf, String)>)> {
    let path = &std::fs::canonicalize(path)
        .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())).with_source(e))?;
    let files = list_files(path)?;
    Ok((path.clone(), files))
}

fn list_files(path: &Path) -> Result<Vec<(PathBuf, String)>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())).with_source(e))?;
    let mut out = Vec::new();
    if meta.is_file() {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        out.push((path.to_path_buf(), name));
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let p = entry?.path();
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if is_ingestible(&p) {
                let rel = p.strip_prefix(path).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                out.push((p, rel));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn extension(p: &Path) -> String {
    p.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

fn is_ingestible(p: &Path) -> bool {
    matches!(extension(p).as_str(), "md" | "markdown" | "txt" | "csv" | "json")
}

/// Reads one file: Markdown/text become a document, CSV/JSON a catalog.
pub(crate) fn parse_file(path: &Path, rel: &str) -> Result<Parsed> {
    let bytes = std::fs::read(path).map_err(|e| Error::bad_request(format!("cannot read {}: {e}", path.display())).with_source(e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::bad_request(format!("{} is not UTF-8 text; convert it to UTF-8 and ingest it again", path.display())))?;
    match extension(path).as_str() {
        "md" | "markdown" | "txt" => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| rel.to_string());
            let title = text
                .lines()
                .find(|l| l.trim_start().starts_with("# "))
                .map(|l| l.trim_start().trim_start_matches('#').trim().to_string())
                .unwrap_or_else(|| stem.replace(['-', '_'], " "));
            Ok(Parsed::Document(Document { id: file_source(path), title, body: text }))
        }
        "csv" => Ok(Parsed::Catalog(parse_catalog_csv(&text, path)?)),
        "json" => Ok(Parsed::Catalog(parse_catalog_json(&text, path)?)),
        other => Err(Error::bad_request(format!(
            "{}: files of type {other:?} cannot be ingested; use .md, .txt, .csv or .json",
            path.display()
        ))),
    }
}

fn parse_catalog_json(text: &str, path: &Path) -> Result<Vec<CatalogItem>> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Error::bad_request(format!("{} is not valid JSON: {e}", path.display())))?;
    let list = match v {
        serde_json::Value::Object(mut o) => o.remove("catalog").unwrap_or(serde_json::Value::Null),
        other => other,
    };
    let items: Vec<CatalogItem> = serde_json::from_value(list).map_err(|e| {
        Error::bad_request(format!(
            "{}: expected an array of catalog items (or {{\"catalog\": [...]}}) with at least sku, name, price: {e}",
            path.display()
        ))
    })?;
    for i in &items {
        i.validate().map_err(|e| Error::bad_request(format!("{}: {e}", path.display())))?;
    }
    Ok(items)
}

fn parse_catalog_csv(text: &str, path: &Path) -> Result<Vec<CatalogItem>> {
    use crate::catalog::AttributeValue;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::bad_request(format!("{}: cannot read the CSV header: {e}", path.display())))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for required in ["sku", "name", "price"] {
        if !headers.iter().any(|h| h == required) {
            return Err(Error::bad_request(format!(
                "{}: the CSV header needs a `{required}` column (found: {})",
                path.display(),
                headers.join(", ")
            )));
        }
    }
    let mut items = Vec::new();
    for (n, rec) in rdr.records().enumerate() {
        let line = n + 2;
        let rec = rec.map_err(|e| Error::bad_request(format!("{} line {line}: {e}", path.display())))?;
        let mut item = CatalogItem {
            sku: String::new(),
            name: String::new(),
            item_type: "product".into(),
            category: String::new(),
            price: 0.0,
            unit: None,
            stock: None,
            duration_minutes: None,
            description: String::new(),
            tags: Vec::new(),
            attributes: Default::default(),
        };
        let int = |v: &str, col: &str| -> Result<i64> {
            v.parse().map_err(|_| Error::bad_request(format!("{} line {line}: `{col}` must be an integer, got {v:?}", path.display())))
        };
        for (h, v) in headers.iter().zip(rec.iter()) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match h.as_str() {
                "sku" => item.sku = v.into(),
                "name" => item.name = v.into(),
                "type" => item.item_type = v.into(),
                "category" => item.category = v.into(),
                "price" => {
                    item.price = v.trim_start_matches(['$', '€', '£']).parse().map_err(|_| {
                        Error::bad_request(format!("{} line {line}: `price` must be a number, got {v:?}", path.display()))
                    })?
                }
                "unit" => item.unit = Some(v.into()),
                "stock" => item.stock = Some(int(v, "stock")?),
                "duration_minutes" => item.duration_minutes = Some(int(v, "duration_minutes")?),
                "description" => item.description = v.into(),
                "tags" => item.tags = v.split([';', '|']).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
                other => {
                    let value = v
                        .parse::<i64>()
                        .map(AttributeValue::Int)
                        .or_else(|_| v.parse::<f64>().map(AttributeValue::Float))
                        .unwrap_or_else(|_| AttributeValue::Text(v.into()));
                    item.attributes.insert(other.to_string(), value);
                }
            }
        }
        item.validate().map_err(|e| Error::bad_request(format!("{} line {line}: {e}", path.display())))?;
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_headings_and_size() {
        let long: String = (0..60).map(|i| format!("Sentence number {i} is here. ")).collect();
        let doc = Document {
            id: "d".into(),
            title: "Guide".into(),
            body: format!("Intro text.\n\n## Returns\nReturn within 30 days.\n\n## Long\n{long}"),
        };
        let chunks = chunk_document(&doc);
        assert_eq!(chunks[0].text, "Intro text.");
        assert_eq!(chunks[1].title, "Guide — Returns");
        assert!(chunks.len() >= 4, "{chunks:?}");
        assert!(chunks.iter().all(|c| c.text.split_whitespace().count() <= CHUNK_WORDS + 10));
        assert!(chunks.iter().enumerate().all(|(i, c)| c.ord as usize == i));
    }

    #[test]
    fn csv_catalog_names_bad_cells() {
        let p = Path::new("items.csv");
        let ok = parse_catalog_csv("sku,name,price,stock,colour,tags\nA1,Red Hat,$12.50,4,red,hats;red\n", p).unwrap();
        assert_eq!(ok[0].price, 12.5);
        assert_eq!(ok[0].tags, vec!["hats", "red"]);
        assert_eq!(ok[0].attributes["colour"].to_string(), "red");
        let e = parse_catalog_csv("sku,name,price\nA1,Hat,cheap\n", p).unwrap_err();
        assert!(e.to_string().contains("line 2: `price` must be a number"), "{e}");
        let e = parse_catalog_csv("sku,title\nA1,Hat\n", p).unwrap_err();
        assert!(e.to_string().contains("`name` column"), "{e}");
    }
}
