//! SQLite storage: a small connection pool, versioned migrations, and the queries of each concern.
//!
//! A file store runs in WAL mode with a busy timeout and a pool of connections, so turns on many
//! threads read concurrently; an in-memory store has one connection (SQLite memory databases are
//! per connection).

mod access;
mod conversations;
mod knowledge;
mod tools;
mod vectors;
mod tenants;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;

pub use conversations::MessageRow;
pub(crate) use conversations::TurnRecord;
pub(crate) use access::{Claim, KeyRow};
pub(crate) use knowledge::ChunkRow;
pub(crate) use tenants::TenantRow;

use crate::error::{Error, Result};

/// Migrations, applied in order; the index + 1 is the schema version. Never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_access.sql"),
    include_str!("migrations/0003_tools.sql"),
    include_str!("migrations/0004_webhooks.sql"),
    include_str!("migrations/0005_vectors.sql"),
];

const POOL_SIZE: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Store {
    conns: Vec<Mutex<Connection>>,
    /// Writers of this process queue here (a wake-up on release) instead of in SQLite's busy
    /// handler (which sleeps in growing steps); other processes still meet the busy timeout.
    writer: Mutex<()>,
    next: AtomicUsize,
    path: Option<PathBuf>,
}

impl Store {
    pub(crate) fn open(path: &Path) -> Result<Store> {
        let first = Connection::open(path)?;
        configure(&first, true)?;
        migrate(&first)?;
        let mut conns = vec![Mutex::new(first)];
        for _ in 1..POOL_SIZE {
            let c = Connection::open(path)?;
            configure(&c, true)?;
            conns.push(Mutex::new(c));
        }
        Ok(Store { conns, writer: Mutex::new(()), next: AtomicUsize::new(0), path: Some(path.to_path_buf()) })
    }

    pub(crate) fn open_in_memory() -> Result<Store> {
        let c = Connection::open_in_memory()?;
        configure(&c, false)?;
        migrate(&c)?;
        Ok(Store { conns: vec![Mutex::new(c)], writer: Mutex::new(()), next: AtomicUsize::new(0), path: None })
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// A connection for the duration of `f`: a free one if any, else waits on one in turn.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.acquire()?;
        f(&mut guard)
    }

    /// Runs `f` in an IMMEDIATE transaction (takes the write lock up front, so concurrent writers
    /// wait on the busy timeout instead of failing on upgrade) and commits it.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let _writer = self.writer.lock().map_err(|_| Error::internal("the storage writer lock was poisoned by a panic"))?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn acquire(&self) -> Result<MutexGuard<'_, Connection>> {
        for c in &self.conns {
            if let Ok(g) = c.try_lock() {
                return Ok(g);
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len();
        self.conns[i].lock().map_err(|_| Error::internal("a storage connection was poisoned by a panic"))
    }
}

fn configure(c: &Connection, file: bool) -> Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    if file {
        c.pragma_update(None, "journal_mode", "WAL")?;
        c.pragma_update(None, "synchronous", "NORMAL")?;
    }
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction.
fn migrate(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let current: i64 = c.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    if current > MIGRATIONS.len() as i64 {
        return Err(Error::new(
            crate::ErrorKind::Storage,
            format!(
                "the database has schema version {current}, newer than this build of Brain knows ({}); upgrade Brain",
                MIGRATIONS.len()
            ),
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        c.execute_batch("BEGIN IMMEDIATE")?;
        let applied = c.execute_batch(sql).and_then(|_| {
            c.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                (version, now_secs()),
            )
        });
        match applied {
            Ok(_) => c.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = c.execute_batch("ROLLBACK");
                return Err(Error::from(e));
            }
        }
    }
    Ok(())
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_versioned_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brain.db");
        drop(Store::open(&path).unwrap());
        let store = Store::open(&path).unwrap();
        let (v, n): (i64, i64) = store
            .with(|c| Ok(c.query_row("SELECT MAX(version), COUNT(*) FROM schema_migrations", [], |r| Ok((r.get(0)?, r.get(1)?)))?))
            .unwrap();
        assert_eq!((v, n), (MIGRATIONS.len() as i64, MIGRATIONS.len() as i64));
        let mode: String = store.with(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brain.db");
        drop(Store::open(&path).unwrap());
        Connection::open(&path).unwrap().execute("INSERT INTO schema_migrations VALUES (99, 0)", []).unwrap();
        let e = Store::open(&path).err().unwrap();
        assert!(e.to_string().contains("upgrade Brain"), "{e}");
    }
}
