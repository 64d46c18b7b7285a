//! Retrieval: one tantivy index for every tenant, BM25 over English-stemmed text, and a tenant
//! filter that every query carries.
//!
//! Isolation does not depend on parsing: queries are built term by term from the analyzed message
//! (never from user-supplied query syntax), and each one is `+tenant:<id> +(terms...)`, so no
//! message of tenant A can reach tenant B's documents.

mod analyzer;
mod vectors;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub(crate) use analyzer::Analyzer;
pub use vectors::Embedder;
pub(crate) use vectors::{VectorIndex, chunk_hash, fuse};

use crate::error::{Error, Result};
use crate::store::ChunkRow;

const TOKENIZER: &str = "brain_en";
const WRITER_MEMORY: usize = 50_000_000;

/// A passage retrieval found for a query, with its BM25 score.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The retrieval document: a KB document id, `catalog:SKU` or `fact:NAME`.
    pub doc_id: String,
    /// Chunk number within the document.
    pub ord: u32,
    /// `kb`, `catalog` or `fact`.
    pub kind: String,
    /// Title of the document.
    pub title: String,
    /// The chunk text.
    pub text: String,
    /// BM25 score (title matches weigh double).
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    tenant: Field,
    doc_key: Field,
    doc_id: Field,
    ord: Field,
    kind: Field,
    title: Field,
    body: Field,
}

pub(crate) struct Retriever {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    analyzer: Analyzer,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        tenant: b.add_text_field("tenant", STRING | STORED),
        doc_key: b.add_text_field("doc_key", STRING),
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        ord: b.add_u64_field("ord", STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text),
    };
    (b.build(), fields)
}

fn doc_key(tenant: &str, doc_id: &str) -> String {
    format!("{tenant}\u{1f}{doc_id}")
}

impl Retriever {
    /// Opens the index in `dir` (created if missing), or a RAM index. Also says whether it was new.
    pub(crate) fn open(dir: Option<&Path>) -> Result<(Retriever, bool)> {
        let (schema, fields) = schema();
        let (index, created) = match dir {
            Some(dir) => {
                let existed = dir.join("meta.json").exists();
                std::fs::create_dir_all(dir)?;
                let mmap = tantivy::directory::MmapDirectory::open(dir)
                    .map_err(|e| Error::new(crate::ErrorKind::Retrieval, format!("cannot open index directory {}: {e}", dir.display())))?;
                (Index::open_or_create(mmap, schema.clone())?, !existed)
            }
            None => (Index::create_in_ram(schema.clone()), true),
        };
        if index.schema() != schema {
            return Err(Error::new(
                crate::ErrorKind::Retrieval,
                "the index on disk has a different schema than this build of Brain; delete the index/ folder to rebuild it from brain.db",
            ));
        }
        let analyzer = Analyzer::new();
        index.tokenizers().register(TOKENIZER, analyzer.text_analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok((Retriever { index, reader, writer: Mutex::new(writer), fields, analyzer }, created))
    }

    pub(crate) fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Exclusive access for a batch of changes; [`IndexBatch::commit`] makes them visible.
    pub(crate) fn batch(&self) -> Result<IndexBatch<'_>> {
        let writer = self.writer.lock().map_err(|_| Error::internal("the index writer was poisoned by a panic"))?;
        Ok(IndexBatch { retriever: self, writer })
    }

    /// Inverse document frequency of an index term over titles and bodies; 0 when no chunk has
    /// it (the term carries no evidence either way).
    pub(crate) fn idf(&self, term: &str) -> f32 {
        let searcher = self.reader.searcher();
        let f = self.fields;
        let df = [f.title, f.body]
            .into_iter()
            .map(|field| searcher.doc_freq(&Term::from_field_text(field, term)).unwrap_or(0))
            .max()
            .unwrap_or(0);
        if df == 0 {
            return 0.0;
        }
        let n = searcher.num_docs() as f32;
        (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
    }

    /// Number of indexed chunks (all tenants).
    pub(crate) fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The `limit` best chunks of `tenant` for weighted query terms (already analyzed).
    pub(crate) fn search(&self, tenant: &str, terms: &[(String, f32)], limit: usize) -> Result<Vec<Hit>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let f = self.fields;
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() * 2);
        for (term, weight) in terms {
            for (field, boost) in [(f.title, 2.0f32), (f.body, 1.0f32)] {
                let q = TermQuery::new(Term::from_field_text(field, term), IndexRecordOption::WithFreqs);
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost * weight))));
            }
        }
        let tenant_filter = TermQuery::new(Term::from_field_text(f.tenant, tenant), IndexRecordOption::Basic);
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(ConstScoreQuery::new(Box::new(tenant_filter), 0.0))),
            (Occur::Must, Box::new(BooleanQuery::new(should))),
        ]);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            // Defence in depth: the filter above already guarantees this.
            if text(f.tenant) != tenant {
                return Err(Error::internal("retrieval returned another tenant's document"));
            }
            hits.push(Hit {
                doc_id: text(f.doc_id),
                ord: doc.get_first(f.ord).and_then(|v| v.as_u64()).unwrap_or(0) as u32,
                kind: text(f.kind),
                title: text(f.title),
                text: text(f.body),
                score,
            });
        }
        Ok(hits)
    }
}

/// Pending index changes, holding the writer lock.
pub(crate) struct IndexBatch<'a> {
    retriever: &'a Retriever,
    writer: MutexGuard<'a, IndexWriter>,
}

impl IndexBatch<'_> {
    /// Replaces the chunks of one retrieval document.
    pub(crate) fn put(&mut self, tenant: &str, doc_id: &str, chunks: &[ChunkRow]) -> Result<()> {
        self.delete(tenant, doc_id);
        let f = self.retriever.fields;
        for ch in chunks {
            let mut doc = TantivyDocument::default();
            doc.add_text(f.tenant, tenant);
            doc.add_text(f.doc_key, doc_key(tenant, doc_id));
            doc.add_text(f.doc_id, doc_id);
            doc.add_u64(f.ord, ch.ord as u64);
            doc.add_text(f.kind, &ch.kind);
            doc.add_text(f.title, &ch.title);
            doc.add_text(f.body, &ch.text);
            self.writer.add_document(doc)?;
        }
        Ok(())
    }

    pub(crate) fn delete(&mut self, tenant: &str, doc_id: &str) {
        let f = self.retriever.fields;
        self.writer.delete_term(Term::from_field_text(f.doc_key, &doc_key(tenant, doc_id)));
    }

    pub(crate) fn delete_tenant(&mut self, tenant: &str) {
        let f = self.retriever.fields;
        self.writer.delete_term(Term::from_field_text(f.tenant, tenant));
    }

    pub(crate) fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        Ok(())
    }

    /// Commits and reloads the reader: the next search sees the changes.
    pub(crate) fn commit(mut self) -> Result<()> {
        self.writer.commit()?;
        self.retriever.reader.reload()?;
        Ok(())
    }

    /// Drops uncommitted changes (after a failed storage write).
    pub(crate) fn rollback(mut self) -> Result<()> {
        self.writer.rollback()?;
        Ok(())
    }
}

impl Retriever {
    #[allow(dead_code)]
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }
}
