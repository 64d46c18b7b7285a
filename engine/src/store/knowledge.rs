//! Documents, retrieval chunks and catalog items.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::{Store, now_secs};
use crate::catalog::CatalogItem;
use crate::error::{Error, Result};
use crate::marketplace::Document;

/// One retrieval unit, as stored and as indexed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChunkRow {
    pub doc_id: String,
    pub ord: u32,
    /// `kb`, `catalog` or `fact`.
    pub kind: String,
    pub title: String,
    pub text: String,
}

impl Store {
    /// doc_id → (source, content hash) for a tenant's documents.
    pub(crate) fn document_hashes(&self, tenant: &str) -> Result<HashMap<String, (String, String)>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT doc_id, source, content_hash FROM documents WHERE tenant_id = ?1")?;
            let rows = st.query_map([tenant], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(crate) fn put_document(&self, tx: &Transaction<'_>, tenant: &str, source: &str, doc: &Document, hash: &str) -> Result<()> {
        let (doc_id, title, body) = (&doc.id, &doc.title, &doc.body);
        tx.execute(
            "INSERT INTO documents (tenant_id, doc_id, source, title, body, content_hash, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (tenant_id, doc_id) DO UPDATE SET source = ?3, title = ?4, body = ?5,
                 content_hash = ?6, updated_at = ?7",
            params![tenant, doc_id, source, title, body, hash, now_secs()],
        )?;
        Ok(())
    }

    pub(crate) fn delete_document(&self, tx: &Transaction<'_>, tenant: &str, doc_id: &str) -> Result<bool> {
        Ok(tx.execute("DELETE FROM documents WHERE tenant_id = ?1 AND doc_id = ?2", [tenant, doc_id])? > 0)
    }

    /// Replaces the chunks of one retrieval document.
    pub(crate) fn put_chunks(&self, tx: &Transaction<'_>, tenant: &str, doc_id: &str, chunks: &[ChunkRow]) -> Result<()> {
        self.delete_chunks(tx, tenant, doc_id)?;
        let mut st = tx.prepare_cached(
            "INSERT INTO chunks (tenant_id, doc_id, ord, kind, title, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for ch in chunks {
            st.execute(params![tenant, doc_id, ch.ord, ch.kind, ch.title, ch.text])?;
        }
        Ok(())
    }

    pub(crate) fn delete_chunks(&self, tx: &Transaction<'_>, tenant: &str, doc_id: &str) -> Result<()> {
        tx.execute("DELETE FROM chunks WHERE tenant_id = ?1 AND doc_id = ?2", [tenant, doc_id])?;
        Ok(())
    }

    /// Retrieval doc ids of a given kind (used to drop facts and catalog entries that went away).
    pub(crate) fn chunk_doc_ids(&self, tx: &Transaction<'_>, tenant: &str, kind: &str) -> Result<Vec<String>> {
        let mut st = tx.prepare("SELECT DISTINCT doc_id FROM chunks WHERE tenant_id = ?1 AND kind = ?2")?;
        let rows = st.query_map([tenant, kind], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every chunk of every tenant, for rebuilding the index.
    pub(crate) fn all_chunks(&self) -> Result<Vec<(String, ChunkRow)>> {
        self.with(|c| {
            let mut st = c.prepare("SELECT tenant_id, doc_id, ord, kind, title, text FROM chunks ORDER BY tenant_id, doc_id, ord")?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get(0)?,
                    ChunkRow { doc_id: r.get(1)?, ord: r.get(2)?, kind: r.get(3)?, title: r.get(4)?, text: r.get(5)? },
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub(crate) fn chunk_count(&self) -> Result<u64> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get::<_, i64>(0))? as u64))
    }

    pub(crate) fn put_catalog_item(&self, tx: &Transaction<'_>, tenant: &str, source: &str, item: &CatalogItem) -> Result<()> {
        let js = serde_json::to_string(item).map_err(|e| Error::internal(format!("cannot serialize item: {e}")))?;
        tx.execute(
            "INSERT INTO catalog_items (tenant_id, sku, source, name, item_json) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, sku) DO UPDATE SET source = ?3, name = ?4, item_json = ?5",
            params![tenant, item.sku, source, item.name, js],
        )?;
        Ok(())
    }

    /// SKUs of a tenant's catalog that came from `source`.
    pub(crate) fn catalog_skus(&self, tx: &Transaction<'_>, tenant: &str, source: &str) -> Result<Vec<String>> {
        let mut st = tx.prepare("SELECT sku FROM catalog_items WHERE tenant_id = ?1 AND source = ?2")?;
        let rows = st.query_map([tenant, source], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// (sku, source) of catalog items whose source starts with `prefix`.
    pub(crate) fn catalog_by_source_prefix(&self, tx: &Transaction<'_>, tenant: &str, prefix: &str) -> Result<Vec<(String, String)>> {
        let mut st = tx.prepare("SELECT sku, source FROM catalog_items WHERE tenant_id = ?1 AND substr(source, 1, length(?2)) = ?2")?;
        let rows = st.query_map([tenant, prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(crate) fn delete_catalog_item(&self, tx: &Transaction<'_>, tenant: &str, sku: &str) -> Result<()> {
        tx.execute("DELETE FROM catalog_items WHERE tenant_id = ?1 AND sku = ?2", [tenant, sku])?;
        Ok(())
    }

    pub(crate) fn catalog(&self, tenant: &str) -> Result<Vec<CatalogItem>> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT item_json FROM catalog_items WHERE tenant_id = ?1 ORDER BY sku")?;
            let rows = st.query_map([tenant], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for js in rows {
                out.push(
                    serde_json::from_str(&js?)
                        .map_err(|e| Error::new(crate::ErrorKind::Storage, format!("stored catalog item is corrupt: {e}")))?,
                );
            }
            Ok(out)
        })
    }
}
