//! Dense retrieval: chunk embeddings kept per tenant in memory (loaded from SQLite), exact
//! cosine search, and reciprocal-rank fusion with the BM25 ranking.
//!
//! Isolation is structural: a tenant's matrix is built only from that tenant's rows in `chunks`,
//! and a query searches exactly one tenant's matrix.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use super::Hit;
use crate::error::{Error, Result};
use crate::store::{ChunkRow, Store};

/// A text embedder: the built-in MiniLM (feature `models`) or a host's own.
pub trait Embedder: Send + Sync {
    /// Identifies the model; stored vectors are keyed by it (change it when the weights change).
    fn name(&self) -> &str;
    /// Vector length.
    fn dim(&self) -> usize;
    /// One unit-length vector per text.
    ///
    /// # Errors
    /// Any; ingest reports it, a turn falls back to BM25 alone.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// The text of a chunk that gets embedded, and its content address.
pub(crate) fn chunk_text(c: &ChunkRow) -> String {
    if c.title.is_empty() || c.text.starts_with(&c.title) { c.text.clone() } else { format!("{}: {}", c.title, c.text) }
}

pub(crate) fn chunk_hash(c: &ChunkRow) -> String {
    crate::knowledge::content_hash(&[&c.title, &c.text])
}

struct TenantVectors {
    chunks: Vec<ChunkRow>,
    /// Row-major, `chunks.len() × dim`, unit rows.
    data: Vec<f32>,
}

/// The embedder and every loaded tenant's vectors.
pub(crate) struct VectorIndex {
    embedder: RwLock<Option<Arc<dyn Embedder>>>,
    tenants: RwLock<HashMap<String, Arc<TenantVectors>>>,
}

/// Progress of embedding: (done, total).
pub(crate) type EmbedProgress<'a> = &'a mut dyn FnMut(usize, usize);

impl VectorIndex {
    pub(crate) fn new(embedder: Option<Arc<dyn Embedder>>) -> VectorIndex {
        VectorIndex { embedder: RwLock::new(embedder), tenants: RwLock::new(HashMap::new()) }
    }

    pub(crate) fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        self.embedder.read().ok().and_then(|e| e.clone())
    }

    pub(crate) fn set_embedder(&self, embedder: Option<Arc<dyn Embedder>>) {
        if let Ok(mut e) = self.embedder.write() {
            *e = embedder;
        }
        if let Ok(mut t) = self.tenants.write() {
            t.clear();
        }
    }

    /// Forgets a tenant's loaded vectors (its chunks changed).
    pub(crate) fn invalidate(&self, tenant: &str) {
        if let Ok(mut t) = self.tenants.write() {
            t.remove(tenant);
        }
    }

    /// Embeds the tenant's chunks that have no stored vector yet, then loads its matrix.
    /// Returns how many chunks were embedded now.
    pub(crate) fn sync_tenant(&self, store: &Store, tenant: &str, progress: EmbedProgress<'_>) -> Result<usize> {
        let Some(embedder) = self.embedder() else { return Ok(0) };
        let chunks = store.tenant_chunks(tenant)?;
        let hashes: Vec<String> = chunks.iter().map(chunk_hash).collect();
        let have = store.vector_hashes(embedder.name())?;
        let mut seen = HashSet::new();
        let todo: Vec<usize> = (0..chunks.len()).filter(|&i| !have.contains(&hashes[i]) && seen.insert(hashes[i].clone())).collect();
        let total = todo.len();
        progress(0, total);
        for batch in todo.chunks(64) {
            let texts: Vec<String> = batch.iter().map(|&i| chunk_text(&chunks[i])).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vecs = embedder.embed(&refs)?;
            if vecs.len() != refs.len() || vecs.iter().any(|v| v.len() != embedder.dim()) {
                return Err(Error::new(crate::ErrorKind::Model, format!("embedder {} returned the wrong number or size of vectors", embedder.name())));
            }
            let rows: Vec<(String, Vec<f32>)> = batch.iter().map(|&i| hashes[i].clone()).zip(vecs).collect();
            store.put_vectors(embedder.name(), &rows)?;
            progress(seen.len().min(total), total);
        }
        let stored = store.vectors(embedder.name(), &hashes)?;
        let dim = embedder.dim();
        let mut data = Vec::with_capacity(chunks.len() * dim);
        let mut kept = Vec::with_capacity(chunks.len());
        for (c, v) in chunks.into_iter().zip(stored) {
            if let Some(v) = v.filter(|v| v.len() == dim) {
                data.extend_from_slice(&v);
                kept.push(c);
            }
        }
        if let Ok(mut t) = self.tenants.write() {
            t.insert(tenant.to_string(), Arc::new(TenantVectors { chunks: kept, data }));
        }
        Ok(total)
    }

    /// The `limit` chunks of `tenant` nearest to `query` (cosine), best first.
    pub(crate) fn search(&self, store: &Store, tenant: &str, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let Some(embedder) = self.embedder() else { return Ok(Vec::new()) };
        let loaded = self.tenants.read().ok().and_then(|t| t.get(tenant).cloned());
        let tv = match loaded {
            Some(tv) => tv,
            None => {
                self.sync_tenant(store, tenant, &mut |_, _| {})?;
                match self.tenants.read().ok().and_then(|t| t.get(tenant).cloned()) {
                    Some(tv) => tv,
                    None => return Ok(Vec::new()),
                }
            }
        };
        if tv.chunks.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let q = embedder.embed(&[query])?.pop().ok_or_else(|| Error::internal("the embedder returned no vector"))?;
        let dim = q.len();
        let mut scored: Vec<(f32, usize)> =
            tv.data.chunks_exact(dim).enumerate().map(|(i, row)| (row.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>(), i)).collect();
        let k = limit.min(scored.len());
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        Ok(scored
            .into_iter()
            .map(|(s, i)| {
                let c = &tv.chunks[i];
                Hit { doc_id: c.doc_id.clone(), ord: c.ord, kind: c.kind.clone(), title: c.title.clone(), text: c.text.clone(), score: s }
            })
            .collect())
    }
}

/// Reciprocal-rank fusion of a BM25 ranking and a vector ranking: each hit scores
/// `Σ 1 / (k + rank)` over the lists it appears in. The fused list keeps each hit's BM25 score
/// (0 for a hit only the vectors found), which composers use as lexical evidence.
pub(crate) fn fuse(bm25: Vec<Hit>, dense: Vec<Hit>, k: f32, limit: usize) -> Vec<Hit> {
    let mut fused: Vec<(f32, Hit)> = Vec::with_capacity(bm25.len() + dense.len());
    let mut at: HashMap<(String, u32), usize> = HashMap::new();
    for (rank, h) in bm25.into_iter().enumerate() {
        at.insert((h.doc_id.clone(), h.ord), fused.len());
        fused.push((1.0 / (k + rank as f32 + 1.0), h));
    }
    for (rank, mut h) in dense.into_iter().enumerate() {
        let r = 1.0 / (k + rank as f32 + 1.0);
        match at.get(&(h.doc_id.clone(), h.ord)) {
            Some(&i) => fused[i].0 += r,
            None => {
                h.score = 0.0;
                fused.push((r, h));
            }
        }
    }
    fused.sort_by(|a, b| b.0.total_cmp(&a.0));
    fused.into_iter().take(limit).map(|(_, h)| h).collect()
}
