//! Stored chunk embeddings.

use std::collections::HashSet;

use rusqlite::params;

use super::{ChunkRow, Store, now_secs};
use crate::error::{Error, Result};

impl Store {
    /// Every chunk of one tenant, in a stable order.
    pub(crate) fn tenant_chunks(&self, tenant: &str) -> Result<Vec<ChunkRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT doc_id, ord, kind, title, text FROM chunks WHERE tenant_id = ?1 ORDER BY doc_id, ord")?;
            let rows = st.query_map([tenant], |r| {
                Ok(ChunkRow { doc_id: r.get(0)?, ord: r.get(1)?, kind: r.get(2)?, title: r.get(3)?, text: r.get(4)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Hashes among `hashes` that have a vector of `model`.
    pub(crate) fn vector_hashes(&self, model: &str) -> Result<HashSet<String>> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT text_hash FROM chunk_vectors WHERE model = ?1")?;
            let rows = st.query_map([model], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The vectors of `model` for `hashes` (missing ones are `None`).
    pub(crate) fn vectors(&self, model: &str, hashes: &[String]) -> Result<Vec<Option<Vec<f32>>>> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT vec FROM chunk_vectors WHERE model = ?1 AND text_hash = ?2")?;
            let mut out = Vec::with_capacity(hashes.len());
            for h in hashes {
                let blob: Option<Vec<u8>> = st.query_row(params![model, h], |r| r.get(0)).map(Some).or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
                out.push(match blob {
                    Some(b) if b.len() % 4 == 0 => Some(b.chunks_exact(4).map(|x| f32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect()),
                    Some(_) => return Err(Error::new(crate::ErrorKind::Storage, format!("stored vector {h} is corrupt"))),
                    None => None,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn put_vectors(&self, model: &str, rows: &[(String, Vec<f32>)]) -> Result<()> {
        self.write(|tx| {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO chunk_vectors (model, text_hash, dim, vec, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let now = now_secs();
            for (hash, v) in rows {
                let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                st.execute(params![model, hash, v.len() as i64, blob, now])?;
            }
            Ok(())
        })
    }

    /// Drops vectors no chunk of any tenant uses any more.
    pub(crate) fn prune_vectors(&self, model: &str, keep: &HashSet<String>) -> Result<usize> {
        let stored = self.vector_hashes(model)?;
        let gone: Vec<&String> = stored.iter().filter(|h| !keep.contains(*h)).collect();
        if gone.is_empty() {
            return Ok(0);
        }
        self.write(|tx| {
            let mut st = tx.prepare_cached("DELETE FROM chunk_vectors WHERE model = ?1 AND text_hash = ?2")?;
            for h in &gone {
                st.execute(params![model, h])?;
            }
            Ok(gone.len())
        })
    }
}
