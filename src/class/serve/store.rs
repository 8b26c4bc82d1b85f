//! The class server's database: one SQLite file (beside the roster unless `--db`) holding the
//! learners' token hashes, the instructor key's hash, the self-signed certificate and every
//! accepted submission. WAL with `synchronous=FULL`: a submission is on disk when its insert
//! returns, so acknowledging it after the insert never loses it, even on `kill -9` or power
//! loss.

use crate::class::wire::Submission;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {}: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// One open connection to the class database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A learner's token as stored: only its SHA-256.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub learner: String,
    pub hash: [u8; 32],
    pub revoked: bool,
}

/// A submission as stored, with the learner its token belongs to.
#[derive(Debug, Clone)]
pub struct Stored {
    pub learner: String,
    pub submission: Submission,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    learner TEXT PRIMARY KEY,
    hash BLOB NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS submissions (
    learner TEXT NOT NULL,
    id TEXT NOT NULL,
    step TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (learner, id)
);
CREATE INDEX IF NOT EXISTS submissions_step ON submissions (learner, step);
";

impl Store {
    /// Open (and create) the database; every connection runs in WAL with full syncs.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let err = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Set `key` only if it has no value yet; the value it has afterwards (two processes
    /// starting at once agree on one certificate).
    pub fn meta_or_insert(&self, key: &str, value: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.meta(key)?.unwrap_or_else(|| value.to_vec()))
    }

    /// A learner's new token hash (a new invitation: the old token stops working).
    pub fn set_token(&self, learner: &str, hash: &[u8; 32]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO tokens (learner, hash, revoked) VALUES (?1, ?2, 0)
                 ON CONFLICT (learner) DO UPDATE SET hash = excluded.hash, revoked = 0",
                params![learner, &hash[..]],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Revoke a learner's token; false when they have none.
    pub fn revoke(&self, learner: &str) -> Result<bool, StoreError> {
        self.conn
            .execute(
                "UPDATE tokens SET revoked = 1 WHERE learner = ?1",
                [learner],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT learner, hash, revoked FROM tokens")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let hash: Vec<u8> = r.get(1)?;
                Ok(TokenRow {
                    learner: r.get(0)?,
                    hash: hash.try_into().unwrap_or([0; 32]),
                    revoked: r.get::<_, i64>(2)? != 0,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// A number that changes whenever another connection commits (SQLite's `data_version`):
    /// the server reloads its tokens when `class invite` or `class revoke` changed them.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Store a submission, durably; false when this learner already sent this id.
    pub fn insert(
        &self,
        learner: &str,
        s: &Submission,
        received_ms: i64,
    ) -> Result<bool, StoreError> {
        let body = serde_json::to_string(s).unwrap_or_default();
        self.conn
            .execute(
                "INSERT OR IGNORE INTO submissions (learner, id, step, received_ms, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![learner, s.id, s.step, received_ms, body],
            )
            .map(|n| n > 0)
            .map_err(|e| self.err(e))
    }

    /// Every learner's latest submission per step (latest received).
    pub fn latest(&self) -> Result<Vec<Stored>, StoreError> {
        self.select(
            "SELECT learner, body FROM submissions WHERE rowid IN
               (SELECT max(rowid) FROM submissions GROUP BY learner, step)",
        )
    }

    /// Every submission, in the order received.
    pub fn all(&self) -> Result<Vec<Stored>, StoreError> {
        self.select("SELECT learner, body FROM submissions ORDER BY rowid")
    }

    fn select(&self, sql: &str) -> Result<Vec<Stored>, StoreError> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (learner, body) = row.map_err(|e| self.err(e))?;
            // Only bodies this server validated are stored; one that no longer reads is skipped.
            if let Ok(submission) = serde_json::from_str(&body) {
                out.push(Stored {
                    learner,
                    submission,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::wire::{StepStatus, SubmitCommand};

    fn sub(id: &str, step: &str) -> Submission {
        Submission {
            id: id.into(),
            lab: "lab".into(),
            step: step.into(),
            command: SubmitCommand::Check,
            at: "2026-12-06T02:00:00Z".into(),
            duration_ms: 1,
            status: StepStatus::Passed,
            checks: vec![],
        }
    }

    #[test]
    fn a_submission_is_counted_once_per_learner_and_the_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        assert!(
            store
                .insert("alice", &sub("aaaaaaaaaaaaaaaa", "one"), 1)
                .unwrap()
        );
        assert!(
            !store
                .insert("alice", &sub("aaaaaaaaaaaaaaaa", "one"), 2)
                .unwrap()
        );
        assert!(
            store
                .insert("bob", &sub("aaaaaaaaaaaaaaaa", "one"), 3)
                .unwrap()
        );
        assert!(
            store
                .insert("alice", &sub("bbbbbbbbbbbbbbbb", "one"), 4)
                .unwrap()
        );
        assert_eq!(store.all().unwrap().len(), 3);
        let latest = store.latest().unwrap();
        assert_eq!(latest.len(), 2);
        assert!(
            latest
                .iter()
                .any(|s| s.learner == "alice" && s.submission.id.starts_with('b'))
        );
    }

    #[test]
    fn tokens_are_replaced_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("c.db")).unwrap();
        store.set_token("alice", &[1; 32]).unwrap();
        assert!(store.revoke("alice").unwrap());
        assert!(!store.revoke("nobody").unwrap());
        assert!(store.tokens().unwrap()[0].revoked);
        store.set_token("alice", &[2; 32]).unwrap();
        let t = &store.tokens().unwrap()[0];
        assert_eq!((t.hash, t.revoked), ([2; 32], false));
    }
}
