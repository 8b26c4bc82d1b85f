//! Snapshot learners at class size: a workshop hands out a handful of snapshot files to many
//! learners (10,000 learners on 7 files). Each distinct file is read and parsed once, by the
//! first grading thread that needs it, and held as compact text ([`Fetched`]) for the run; and
//! learners whose grade cannot differ — the same file, the same roster variables — share one
//! grade ([`SharedGrades`]), computed once. A row then costs its name and a pointer, so memory
//! stays flat in the number of learners and time in the number of distinct inputs.

use super::fetch::Fetched;
use super::report::Outcome;
use super::roster::{Learner, Roster, Source};
use crate::view::snapshot::read_snapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// A snapshot file as the class report uses it: its header and its objects as text.
#[derive(Debug)]
pub struct SnapshotFile {
    pub lab: String,
    pub profile: String,
    pub variables: BTreeMap<String, String>,
    /// The variables discovered on the learner's cluster when the snapshot was taken.
    pub discovered: Vec<crate::plan::discover::Discovered>,
    pub fetched: Fetched,
}

/// Every snapshot file of a roster, each read at most once, on first use, and dropped when the
/// last learner on it is graded ([`SnapshotFiles::done`]): a roster of 10,000 different files
/// holds a few at a time, one of 7 shared files holds 7.
#[derive(Default)]
pub struct SnapshotFiles {
    files: BTreeMap<PathBuf, Mutex<Slot>>,
}

type Read = Result<Arc<SnapshotFile>, String>;

/// A file's learners not graded yet, and the file once read.
#[derive(Default)]
struct Slot {
    waiting: usize,
    read: Option<Read>,
}

fn read(path: &Path) -> Read {
    let snap = read_snapshot(path).map_err(|e| super::prepare::chain(&e))?;
    let fetched = Fetched::from_set(snap.to_object_set());
    Ok(Arc::new(SnapshotFile {
        lab: snap.lab,
        profile: snap.profile,
        variables: snap.variables,
        discovered: snap.discovered,
        fetched,
    }))
}

impl SnapshotFiles {
    pub fn new(roster: &Roster) -> Self {
        let mut files: BTreeMap<PathBuf, Mutex<Slot>> = BTreeMap::new();
        for l in &roster.learners {
            if let Source::Snapshot(p) = &l.source
                && let Ok(slot) = files.entry(p.clone()).or_default().get_mut()
            {
                slot.waiting += 1;
            }
        }
        SnapshotFiles { files }
    }

    /// The file's contents, or why it cannot be read (the same message for every learner on
    /// it). Threads asking for other files are not held up while one is read.
    pub fn get(&self, path: &Path) -> Read {
        let Some(slot) = self.files.get(path) else {
            // Not in the roster this was made for: read it, unshared.
            return read(path);
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.read.get_or_insert_with(|| read(path)).clone()
    }

    /// A learner on `path` is graded; the file is dropped after its last one.
    pub fn done(&self, path: &Path) {
        if let Some(slot) = self.files.get(path) {
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.waiting = slot.waiting.saturating_sub(1);
            if slot.waiting == 0 {
                slot.read = None;
            }
        }
    }

    /// How many distinct files the roster names.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Files held in memory now.
    pub fn held(&self) -> usize {
        self.files
            .values()
            .filter(|s| s.lock().is_ok_and(|s| s.read.is_some()))
            .count()
    }
}

/// What decides a snapshot learner's grade besides the lab and profile: the file and the
/// roster's variables for them (`{{ learner }}` already substituted, so a variable naming the
/// learner makes their key their own).
type Key = (PathBuf, Vec<(String, String)>, Vec<(String, String)>);

/// One grade per distinct [`Key`], computed by the first learner that needs it.
#[derive(Default)]
pub struct SharedGrades {
    grades: BTreeMap<Key, (usize, OnceLock<Outcome>)>,
}

fn key(learner: &Learner) -> Option<Key> {
    match &learner.source {
        Source::Snapshot(p) => Some((
            p.clone(),
            learner.variables.clone(),
            learner.own_variables.clone(),
        )),
        Source::Cluster { .. } | Source::Pushed => None,
    }
}

impl SharedGrades {
    pub fn new(roster: &Roster) -> Self {
        let mut grades: BTreeMap<Key, (usize, OnceLock<Outcome>)> = BTreeMap::new();
        for k in roster.learners.iter().filter_map(key) {
            grades.entry(k).or_default().0 += 1;
        }
        SharedGrades { grades }
    }

    /// The learner's grade: `grade(shared)` runs once per key (`shared`: more than one learner
    /// has this key, so the grade must not name one of them). `None` for a learner on a cluster.
    pub fn outcome(
        &self,
        learner: &Learner,
        grade: impl FnOnce(bool) -> Outcome,
    ) -> Option<Outcome> {
        let (n, slot) = self.grades.get(&key(learner)?)?;
        Some(slot.get_or_init(|| grade(*n > 1)).clone())
    }

    /// Distinct grades the roster's snapshot learners need.
    pub fn len(&self) -> usize {
        self.grades.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grades.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(name: &str, file: &str, vars: &[(&str, &str)]) -> Learner {
        Learner {
            name: name.into(),
            source: Source::Snapshot(PathBuf::from(file)),
            variables: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            own_variables: Vec::new(),
        }
    }

    #[test]
    fn one_grade_per_file_and_variables() {
        let roster = Roster {
            file: PathBuf::from("class.yaml"),
            profile: None,
            learners: vec![
                learner("a", "x.json", &[]),
                learner("b", "x.json", &[]),
                learner("c", "y.json", &[]),
                learner("d", "x.json", &[("appNamespace", "pets-d")]),
            ],
        };
        let shared = SharedGrades::new(&roster);
        assert_eq!(shared.len(), 3);
        let mut graded = Vec::new();
        for l in &roster.learners {
            let outcome = shared.outcome(l, |shared| {
                graded.push((l.name.clone(), shared));
                Outcome::Error {
                    message: format!("graded for {}", l.name),
                }
            });
            let Some(Outcome::Error { message }) = outcome else {
                panic!("{outcome:?}")
            };
            // b gets a's grade: same file, same variables.
            let first = if l.name == "b" { "a" } else { &l.name };
            assert_eq!(message, format!("graded for {first}"));
        }
        assert_eq!(
            graded,
            [
                ("a".to_owned(), true),
                ("c".to_owned(), false),
                ("d".to_owned(), false)
            ]
        );
        let files = SnapshotFiles::new(&roster);
        assert_eq!(files.len(), 2);
        // A file is dropped when its last learner is done (here: unreadable, kept as the reason).
        let y = Path::new("y.json");
        assert!(files.get(y).unwrap_err().contains("y.json"));
        assert_eq!(files.held(), 1);
        files.done(y);
        assert_eq!(files.held(), 0);
        let x = Path::new("x.json");
        files.get(x).unwrap_err();
        files.done(x);
        files.done(x);
        assert_eq!(files.held(), 1, "d is still to be graded on x.json");
        files.done(x);
        assert_eq!(files.held(), 0);
    }
}
