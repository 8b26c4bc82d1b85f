//! Results waiting to be sent: one file per submission in `<state>/push/queue/`, named
//! `<nanoseconds since 1970, 20 digits>-<id>.json` so that the order of names is the order they
//! were made in. Each is written atomically and deleted only once the server has it; one the
//! server refuses for good moves to `<state>/push/rejected/`, kept for the learner to see.

use crate::class::wire::{MAX_BODY_BYTES, Submission};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Queue {
    dir: PathBuf,
}

impl Queue {
    /// The queue of a push folder (`<state>/push`).
    pub fn new(push_dir: &Path) -> Queue {
        Queue {
            dir: push_dir.to_path_buf(),
        }
    }

    fn pending_dir(&self) -> PathBuf {
        self.dir.join("queue")
    }

    pub fn rejected_dir(&self) -> PathBuf {
        self.dir.join("rejected")
    }

    /// Queue `submission` after every one queued before it.
    pub fn push(&self, submission: &Submission) -> std::io::Result<PathBuf> {
        let body = serde_json::to_vec(submission).map_err(std::io::Error::other)?;
        // Later than the last name queued even if the clock went back.
        let mut stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        if let Some(last) = self.pending().last().and_then(|p| sequence(p)) {
            stamp = stamp.max(last + 1);
        }
        let path = self
            .pending_dir()
            .join(format!("{stamp:020}-{}.json", submission.id));
        crate::fsutil::write_atomic(&path, &body)?;
        Ok(path)
    }

    /// The queued files, oldest first (a missing folder is an empty queue).
    pub fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.pending_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| sequence(p).is_some())
            .collect();
        files.sort();
        files
    }

    /// A queued file's body, if it is one that can be sent.
    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let body = crate::readfile::read_bytes(path, MAX_BODY_BYTES as u64).ok()?;
        serde_json::from_slice::<Submission>(&body).ok()?;
        Some(body)
    }

    /// Sent: forget it.
    pub fn done(&self, path: &Path) -> std::io::Result<()> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Refused for good: keep it aside. Returns where it went.
    pub fn reject(&self, path: &Path) -> std::io::Result<PathBuf> {
        let to = self
            .rejected_dir()
            .join(path.file_name().unwrap_or_default());
        std::fs::create_dir_all(self.rejected_dir())?;
        std::fs::rename(path, &to)?;
        Ok(to)
    }
}

/// The sequence number of a queued file's name, if it is one (temporary files are not).
fn sequence(path: &Path) -> Option<u128> {
    let name = path.file_name()?.to_str()?;
    let (stamp, rest) = name.split_once('-')?;
    if stamp.len() != 20 || !rest.ends_with(".json") {
        return None;
    }
    stamp.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::class::wire::{StepStatus, SubmitCommand};

    fn submission(id: &str) -> Submission {
        Submission {
            id: id.into(),
            lab: "istio-aks".into(),
            step: "enable-addon".into(),
            command: SubmitCommand::Check,
            at: "2026-12-06T02:10:00Z".into(),
            duration_ms: 5,
            status: StepStatus::Failed,
            checks: vec![],
        }
    }

    fn ids(q: &Queue) -> Vec<String> {
        q.pending()
            .iter()
            .map(|p| {
                let s: Submission = serde_json::from_slice(&q.read(p).unwrap()).unwrap();
                s.id
            })
            .collect()
    }

    #[test]
    fn the_queue_keeps_the_order_submissions_were_made_in() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        assert!(q.pending().is_empty());
        let made: Vec<String> = (0..30)
            .map(|i| format!("submission-{i:04}-abcdef"))
            .collect();
        for id in &made {
            q.push(&submission(id)).unwrap();
        }
        assert_eq!(ids(&q), made);
        // Temporary files and strangers are not submissions.
        std::fs::write(dir.path().join("queue/.x.json.1-2.tmp"), "{").unwrap();
        std::fs::write(dir.path().join("queue/notes.txt"), "hi").unwrap();
        assert_eq!(q.pending().len(), 30);
        q.done(&q.pending()[0]).unwrap();
        assert_eq!(ids(&q), made[1..]);
    }

    #[test]
    fn a_refused_submission_moves_aside_and_a_broken_file_cannot_be_sent() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::new(dir.path());
        let path = q.push(&submission("refused-0123456789")).unwrap();
        let to = q.reject(&path).unwrap();
        assert!(to.starts_with(q.rejected_dir()) && to.exists());
        assert!(q.pending().is_empty());
        let broken = dir.path().join("queue/00000000000000000001-x.json");
        std::fs::write(&broken, "{ not json").unwrap();
        assert_eq!(q.read(&broken), None);
    }
}
