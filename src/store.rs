//! The book of record: a SQLite database (rusqlite, bundled) behind a narrow repository
//! interface. Callers see [`Store`], [`Tx`] and plain domain types; no rusqlite type appears in
//! the public API, so a PostgreSQL backend can be added behind the same methods later.
//!
//! - WAL journal, `foreign_keys = ON`, `recursive_triggers = ON` (so `INSERT OR REPLACE` cannot
//!   slip past the audit log's delete trigger), `busy_timeout` of [`BUSY_TIMEOUT`].
//! - The schema is versioned with forward migrations (`store/schema.rs`): `PRAGMA user_version`
//!   and the `schema_migrations` table both record the version.
//! - Every writing transaction starts with `BEGIN IMMEDIATE`, so appends from several OS
//!   processes are serialised and the audit chain stays gap-free.
//! - `synchronous = FULL` by default: a committed audit event survives power loss. See
//!   [`Durability`].
//!
//! Must not: decide anything (the gate decides), read the clock (timestamps are passed in), or
//! expose rusqlite types.

mod audit;
mod ledger;
mod ops;
mod schema;

pub use ledger::{
    AccountRow, ActorRow, EntityRow, EntryStatus, NewMatch, NewRequest, RequestState, StoredRequest,
};
pub use ops::{LockRow, NewOutbox, OutboxRow, OutboxState, StoredPolicy, SweeperRunRow};
pub use schema::{APPEND_ONLY_MESSAGE, SCHEMA_VERSION};

use crate::audit::chain::{Verifier, VerifyReport};
use crate::audit::event::AuditEvent;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a connection waits for another writer before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the store. Messages are lowercase, user values in backticks.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `open_existing` on a path with no database.
    #[error("database `{path}` does not exist (create it with `closegate-engine seed`)")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The file could not be opened or prepared.
    #[error("cannot open database `{path}`: {message}")]
    Open {
        /// The path.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The database was written by a newer binary.
    #[error("database schema version {found} is newer than this binary supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Latest version known here.
        supported: i64,
    },
    /// The file is a SQLite database of something else (tables, but no closegate schema).
    #[error("`{path}` is a SQLite database but not a closegate database (it has tables and no schema version)")]
    Foreign {
        /// The path.
        path: PathBuf,
    },
    /// A write was attempted in a read transaction.
    #[error("write attempted in a read-only transaction")]
    ReadOnly,
    /// A referenced row does not exist.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// What kind of row.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A stored value cannot be read back as its domain type.
    #[error("corrupt {what} in the database: {message}")]
    Corrupt {
        /// Which value.
        what: String,
        /// Why.
        message: String,
    },
    /// Any other database error (constraint violations, trigger refusals, I/O).
    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Database(e.to_string())
    }
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// `PRAGMA synchronous` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `FULL` (default): each commit is fsynced; committed events survive power loss.
    Full,
    /// `NORMAL`: consistent after a crash or power loss, but the last commits may be lost on
    /// power loss. For bulk loads (seeding, benchmarks).
    Normal,
}

/// An open book-of-record database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating the file and its parent directory if needed) and migrates.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Open {
                    path: path.to_path_buf(),
                    message: format!("cannot create directory `{}`: {e}", parent.display()),
                })?;
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Store::open_with_flags(path, flags)
    }

    /// Opens an existing database and migrates it; [`StoreError::Missing`] if there is none.
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Store::open_with_flags(path, flags)
    }

    fn open_with_flags(path: &Path, flags: OpenFlags) -> Result<Store, StoreError> {
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // Leave other applications' databases untouched (not even their journal mode).
        let (version, tables): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version),
                        (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(open_err)?;
        if version == 0 && tables > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
            });
        }
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open {
                path: path.to_path_buf(),
                message: format!("cannot switch to WAL journal mode (got `{mode}`)"),
            });
        }
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA recursive_triggers = ON; PRAGMA synchronous = FULL;
             PRAGMA mmap_size = 2147418112;",
        )
        .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets `PRAGMA synchronous` for this connection.
    pub fn set_durability(&self, d: Durability) -> Result<(), StoreError> {
        let v = match d {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        self.conn.pragma_update(None, "synchronous", v)?;
        Ok(())
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let current = self.schema_version()?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        for m in schema::MIGRATIONS.iter().filter(|m| m.version > current) {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated while we waited for the write lock.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now >= m.version {
                continue;
            }
            tx.execute_batch(m.sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
                rusqlite::params![m.version, m.name],
            )?;
            tx.pragma_update(None, "user_version", m.version)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Runs `f` in a writing transaction (`BEGIN IMMEDIATE`): commits if it returns `Ok`, rolls
    /// back if it returns `Err`.
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&Tx {
            conn: &tx,
            writable: true,
        })?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Runs `f` in a read transaction (one consistent snapshot). Write methods return
    /// [`StoreError::ReadOnly`].
    pub fn read<T, E>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(StoreError::from)?;
        let out = f(&Tx {
            conn: &tx,
            writable: false,
        });
        // Dropping the read transaction rolls it back; nothing was written.
        drop(tx);
        out
    }

    /// The head `(seq, hash)` of the audit log, `None` when empty.
    pub fn audit_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.read(|tx| tx.audit_head())
    }

    /// Number of audit events.
    pub fn count_events(&self) -> Result<u64, StoreError> {
        self.read(|tx| tx.count_events())
    }

    /// True when the database holds no entries and no audit events.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.read(|tx| tx.is_empty())
    }

    /// The last `n` events, oldest first.
    pub fn tail(&self, n: u64) -> Result<Vec<AuditEvent>, StoreError> {
        self.read(|tx| tx.tail(n))
    }

    /// Streams the whole audit log through `verifier` (in one snapshot) and returns its report.
    /// Also checks each stored policy text against its sha256; use
    /// [`Store::policy_documents`] to give the verifier the policies first.
    pub fn verify(&self, verifier: Verifier) -> Result<VerifyReport, StoreError> {
        self.read(|tx| tx.verify(verifier))
    }

    /// Runs one SQL statement directly on the connection, bypassing the engine and this
    /// interface. Only for the adversarial eval's transport-bypass scenarios, which must show
    /// that the database itself refuses tampering (the error text is the trigger's message).
    /// Product code paths never call it.
    pub fn exec_bypassing_engine(&self, sql: &str) -> Result<(), String> {
        self.conn.execute_batch(sql).map_err(|e| e.to_string())
    }
}

/// A transaction: every typed read and write of the store. Obtained from
/// [`Store::transaction`] (writable) or [`Store::read`].
pub struct Tx<'c> {
    conn: &'c Connection,
    writable: bool,
}

impl Tx<'_> {
    fn w(&self) -> Result<&Connection, StoreError> {
        if self.writable {
            Ok(self.conn)
        } else {
            Err(StoreError::ReadOnly)
        }
    }

    /// True when the database holds no entries and no audit events.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM entries LIMIT 1))
                  + (SELECT COUNT(*) FROM (SELECT 1 FROM audit_log LIMIT 1))",
            [],
            |r| r.get(0),
        )?;
        Ok(n == 0)
    }
}

#[cfg(test)]
mod tests;
