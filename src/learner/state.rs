//! The learner's progress, one state file per (lab, context) in the platform's state folder.
//!
//! Files are `<lab>@<context>.json` (`current` when no `--context` was given: kubectl's current
//! context at the time of each command) in `$LABCTL_STATE_DIR`, else the platform's own folder
//! (Linux `$XDG_STATE_HOME/labctl`, i.e. `~/.local/state/labctl`; macOS `~/Library/Application
//! Support/labctl`; Windows `%LOCALAPPDATA%\labctl\data`). Saves are atomic (temporary file, fsync, rename, fsync of the
//! folder): a crash or `kill -9` leaves the old file or the new one, never half of one. A file
//! that does not parse is renamed to `<name>.corrupt-<timestamp>` and reported, never reset.

use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::plan::resolve::Plan;
use crate::plan::shell;
use crate::readfile::{self, ReadError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::time::SystemTime;

/// Which started lab a learner command is about: the lab and the context it was started on
/// (each `None`: any; of those, the most recently used).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Which {
    pub lab: Option<String>,
    pub context: Option<String>,
}

/// The version of the state file format this labctl writes.
pub const STATE_VERSION: u32 = 1;

/// Everything `labctl start` recorded and every later command updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    pub state_version: u32,
    pub lab: String,
    /// The lab folder, so later commands work from any directory.
    pub lab_dir: PathBuf,
    pub profile: String,
    /// Kubeconfig context graded (None: the current context at the time of each command).
    pub context: Option<String>,
    /// Kubeconfig file given at start (None: `$KUBECONFIG`, then `~/.kube/config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// `--var` values given at start.
    pub vars: Vec<(String, String)>,
    /// Index of the current step in the lab (`== steps.len()`: every step done).
    pub current: usize,
    pub started_at: String,
    pub steps: BTreeMap<String, StepProgress>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepProgress {
    pub status: Option<Status>,
    /// One line: "3 of 4 checks passed", "passed".
    pub summary: Option<String>,
    pub last_checked_at: Option<String>,
    pub first_shown_at: Option<String>,
    pub done_at: Option<String>,
    pub checks_run: u32,
    pub hints_shown: usize,
}

impl Progress {
    /// Progress at `labctl start`: on the first step, shown now.
    pub fn new(
        plan: &Plan,
        lab_dir: PathBuf,
        context: Option<String>,
        vars: Vec<(String, String)>,
    ) -> Progress {
        let now = now();
        let mut steps = BTreeMap::new();
        if let Some(first) = plan.steps.first() {
            steps.insert(
                first.id.clone(),
                StepProgress {
                    first_shown_at: Some(now.clone()),
                    ..StepProgress::default()
                },
            );
        }
        Progress {
            state_version: STATE_VERSION,
            lab: plan.lab.clone(),
            lab_dir,
            profile: plan.profile.clone(),
            context,
            kubeconfig: None,
            vars,
            current: 0,
            started_at: now,
            steps,
        }
    }

    /// The lab resolved again as it was at start (profile and `--var`s), from the recorded folder.
    pub fn plan(&self) -> Result<Plan, Error> {
        Ok(self.resolver()?.base)
    }

    /// What [`Self::plan`] is made from, to make it again with values discovered from the cluster.
    pub fn resolver(&self) -> Result<Resolver, Error> {
        if !self.lab_dir.join("lab.yaml").is_file() {
            return Err(Error::State {
                message: format!(
                    "lab `{}` was started from {}, which no longer holds a lab; `{} --force` starts over",
                    self.lab,
                    self.lab_dir.display(),
                    self.start_command(&[])
                ),
            });
        }
        let lab = crate::labfile::load::load(&self.lab_dir).map_err(Error::InvalidLab)?;
        Ok(Resolver::new(&lab, Some(&self.profile), &self.vars)?)
    }

    /// Every step done (`current` is past the last one).
    pub fn finished(&self, plan: &Plan) -> bool {
        self.current >= plan.steps.len()
    }

    /// A step's progress (default when nothing is recorded for it yet).
    pub fn step(&self, id: &str) -> StepProgress {
        self.steps.get(id).cloned().unwrap_or_default()
    }

    pub fn step_mut(&mut self, id: &str) -> &mut StepProgress {
        self.steps.entry(id.to_owned()).or_default()
    }

    /// The `labctl start` that reaches this same state file (lab, context, kubeconfig), with
    /// `extra` words after it, every word shell-quoted: what messages tell the learner to run.
    pub fn start_command(&self, extra: &[String]) -> String {
        let mut words = vec!["labctl".to_owned(), "start".to_owned(), self.lab.clone()];
        if let Some(c) = &self.context {
            words.extend(["--context".to_owned(), c.clone()]);
        }
        if let Some(k) = &self.kubeconfig {
            words.extend(["--kubeconfig".to_owned(), k.display().to_string()]);
        }
        let mut out: Vec<String> = words.iter().map(|w| shell::word(w)).collect();
        out.extend(extra.iter().cloned());
        out.join(" ")
    }

    /// How the context is named to the learner.
    pub fn context_label(&self) -> String {
        match &self.context {
            Some(c) => c.clone(),
            None => "kubectl's current context".to_owned(),
        }
    }
}

/// A step given by id (`onboard-mesh`) or 1-based number (`3`): its index in the plan.
pub fn step_index(plan: &Plan, which: &str) -> Result<usize, Error> {
    if let Ok(n) = which.parse::<usize>() {
        if (1..=plan.steps.len()).contains(&n) {
            return Ok(n - 1);
        }
        return Err(Error::Usage(format!(
            "lab `{}` has steps 1 to {}, not {n}",
            plan.lab,
            plan.steps.len()
        )));
    }
    let found = plan.step(which)?;
    Ok(plan
        .steps
        .iter()
        .position(|s| s.id == found.id)
        .unwrap_or(0))
}

/// Now, RFC 3339 to the second (the format of every timestamp in the state file).
pub fn now() -> String {
    crate::view::snapshot::now_rfc3339()
}

/// Where state files live.
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    /// `$LABCTL_STATE_DIR`, else `$XDG_STATE_HOME/labctl`, else `~/.local/state/labctl`.
    pub fn open() -> Store {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = if let Some(d) = var("LABCTL_STATE_DIR") {
            PathBuf::from(d)
        } else {
            platform_state_dir().unwrap_or_else(|| {
                PathBuf::from(var("HOME").unwrap_or_else(|| ".".into())).join(".local/state/labctl")
            })
        };
        Store { dir }
    }

    /// A store in a given folder (tests).
    pub fn at(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// The state file of `lab` on `context` (None: kubectl's current context).
    pub fn path_for(&self, lab: &str, context: Option<&str>) -> PathBuf {
        self.dir.join(format!(
            "{}@{}.json",
            clean(lab),
            context.map(clean).unwrap_or_else(|| "current".into())
        ))
    }

    /// The progress a learner command is about, and the file it came from: the file for
    /// `--lab`/`--context` when given, else the most recently modified one.
    pub fn load(&self, which: &Which) -> Result<(PathBuf, Progress), Error> {
        let all = self.files()?;
        if all.is_empty() {
            return Err(Error::Usage(
                "no lab started; run `labctl start LAB`".to_owned(),
            ));
        }
        let want_lab = which.lab.as_deref().map(clean);
        let want_ctx = which.context.as_deref().map(clean);
        let chosen = all
            .iter()
            .filter(|(_, lab, ctx, _)| {
                want_lab.as_ref().is_none_or(|l| l == lab)
                    && want_ctx.as_ref().is_none_or(|c| c == ctx)
            })
            .max_by(|a, b| a.3.cmp(&b.3).then_with(|| a.0.cmp(&b.0)));
        let Some((path, ..)) = chosen else {
            let started: Vec<String> = all
                .iter()
                .map(|(_, lab, ctx, _)| format!("--lab {lab} --context {ctx}"))
                .collect();
            let what = match (&which.lab, &which.context) {
                (Some(l), Some(c)) => format!("lab `{l}` was not started on context `{c}`"),
                (Some(l), None) => format!("lab `{l}` was not started"),
                (None, Some(c)) => format!("no lab was started on context `{c}`"),
                (None, None) => unreachable!("some file matches when nothing is asked for"),
            };
            return Err(Error::Usage(format!(
                "{what}; started: {} (or run `labctl start LAB`)",
                started.join(", ")
            )));
        };
        let progress = self.read(path)?;
        Ok((path.clone(), progress))
    }

    /// Read one state file; a file that does not parse is kept as `<name>.corrupt-<timestamp>`.
    pub fn read(&self, path: &Path) -> Result<Progress, Error> {
        let text = match readfile::read_bytes(path, readfile::STATE_LIMIT) {
            Ok(text) => text,
            Err(e @ ReadError::TooLarge { .. }) => return Err(set_aside(path, &e)),
            Err(e) => {
                return Err(Error::State {
                    message: format!("cannot read the learner state {}: {e}", path.display()),
                });
            }
        };
        // The version first, so a newer labctl's file is refused, not taken for corrupt.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Versioned {
            state_version: u32,
        }
        if let Ok(v) = serde_json::from_slice::<Versioned>(&text)
            && v.state_version > STATE_VERSION
        {
            return Err(Error::State {
                message: format!(
                    "{} was written by a newer labctl (state version {}; this one reads {STATE_VERSION}); upgrade labctl",
                    path.display(),
                    v.state_version
                ),
            });
        }
        serde_json::from_slice::<Progress>(&text).map_err(|e| set_aside(path, &e))
    }

    /// Atomic save: a temporary file in the same folder, fsync, rename over `path`, fsync the
    /// folder. Readers (and a crash at any moment) see the old file or the new one.
    pub fn save(&self, path: &Path, progress: &Progress) -> Result<(), Error> {
        let mut json = serde_json::to_vec_pretty(progress).expect("progress serializes");
        json.push(b'\n');
        crate::fsutil::write_atomic(path, &json).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// Forget a lab: delete its state file.
    pub fn remove(&self, path: &Path) -> Result<(), Error> {
        std::fs::remove_file(path).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// State files: (path, lab part, context part, modified).
    fn files(&self) -> Result<Vec<(PathBuf, String, String, SystemTime)>, Error> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::State {
                    message: format!("cannot read the state folder {}: {e}", self.dir.display()),
                });
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // temporary files of a save in progress (or killed)
            }
            let Some(stem) = name.strip_suffix(".json") else {
                continue; // backups of corrupt files, anything else
            };
            let Some((lab, ctx)) = stem.split_once('@') else {
                continue;
            };
            // Not only regular files: one that is a FIFO or a symlink to a device is then
            // reported by `read` for what it is, rather than "no lab started".
            let Ok(meta) = std::fs::metadata(entry.path()).or_else(|_| entry.metadata()) else {
                continue;
            };
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((entry.path(), lab.to_owned(), ctx.to_owned(), modified));
        }
        Ok(out)
    }
}

/// Where each platform keeps an application's state, through the `directories` crate: Linux
/// `$XDG_STATE_HOME/labctl` (`~/.local/state/labctl`), macOS `~/Library/Application
/// Support/labctl`, Windows `%LOCALAPPDATA%\labctl\data` (the latter two have no separate
/// "state" folder, so the local data folder serves).
fn platform_state_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "labctl")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// A name safe in a file name: letters, digits, `-`, `_`, `.` (not first); anything else `_`.
fn clean(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' => c,
            '.' if i > 0 => c,
            _ => '_',
        })
        .collect()
}

/// A state file that cannot be used as it is (corrupt, or far too large to be one) is kept as
/// `<name>.corrupt-<timestamp>` and reported, never reset silently.
fn set_aside(path: &Path, why: &dyn std::fmt::Display) -> Error {
    let backup = backup_name(path);
    let kept = match std::fs::rename(path, &backup) {
        Ok(()) => format!("it was moved to {}", backup.display()),
        Err(re) => format!("it could not be moved aside ({re}) and is left as it is"),
    };
    Error::State {
        message: format!(
            "the learner state {} is corrupt ({why}); {kept}. Nothing was reset: \
             look at the backup, or run `labctl start LAB` to start over",
            path.display()
        ),
    }
}

/// `<name>.corrupt-<UTC timestamp>`, not overwriting an earlier backup.
fn backup_name(path: &Path) -> PathBuf {
    let stamp = k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = path.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut candidate = base.clone();
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(lab: &str, context: Option<&str>) -> Progress {
        Progress {
            state_version: STATE_VERSION,
            lab: lab.into(),
            lab_dir: PathBuf::from("/labs").join(lab),
            profile: "kind".into(),
            context: context.map(Into::into),
            kubeconfig: None,
            vars: vec![("revision".into(), "asm-1-24".into())],
            current: 2,
            started_at: "2025-01-01T10:00:00Z".into(),
            steps: BTreeMap::from([(
                "enable-addon".to_owned(),
                StepProgress {
                    status: Some(Status::Failed),
                    summary: Some("1 of 2 checks passed".into()),
                    hints_shown: 1,
                    ..StepProgress::default()
                },
            )]),
        }
    }

    fn set_mtime(path: &Path, secs_ago: u64) {
        let t = SystemTime::now() - std::time::Duration::from_secs(secs_ago);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn learner_save_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("nested"));
        let path = store.path_for("istio-aks", Some("kind-lab"));
        assert!(path.ends_with("istio-aks@kind-lab.json"));
        let p = progress("istio-aks", Some("kind-lab"));
        store.save(&path, &p).unwrap();
        let mut p2 = p.clone();
        p2.current = 3;
        store.save(&path, &p2).unwrap();
        assert_eq!(store.read(&path).unwrap(), p2);
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["istio-aks@kind-lab.json".to_owned()]);
    }

    #[test]
    fn learner_path_for_current_context_and_odd_names() {
        let store = Store::at("/s");
        assert_eq!(
            store.path_for("istio-aks", None),
            PathBuf::from("/s/istio-aks@current.json")
        );
        assert_eq!(
            store.path_for("lab", Some("arn:aws:eks:eu/x@y")),
            PathBuf::from("/s/lab@arn_aws_eks_eu_x_y.json")
        );
        assert_eq!(
            store.path_for("lab", Some("../evil")),
            PathBuf::from("/s/lab@_._evil.json")
        );
    }

    #[test]
    fn learner_load_picks_most_recent_or_the_one_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let a = store.path_for("lab-a", Some("ctx1"));
        let b = store.path_for("lab-b", None);
        let c = store.path_for("lab-a", Some("ctx2"));
        store.save(&a, &progress("lab-a", Some("ctx1"))).unwrap();
        store.save(&b, &progress("lab-b", None)).unwrap();
        store.save(&c, &progress("lab-a", Some("ctx2"))).unwrap();
        set_mtime(&a, 10);
        set_mtime(&b, 20);
        set_mtime(&c, 30);
        // A stray temporary file and a backup are not state files.
        std::fs::write(dir.path().join(".lab-z@x.json.1-0.tmp"), "{").unwrap();
        std::fs::write(dir.path().join("lab-z@x.json.corrupt-1"), "{").unwrap();

        let (p, _) = store.load(&Which::default()).unwrap();
        assert_eq!(p, a);
        let (p, prog) = store
            .load(&Which {
                lab: Some("lab-b".into()),
                context: None,
            })
            .unwrap();
        assert_eq!((p, prog.lab.as_str()), (b.clone(), "lab-b"));
        let (p, _) = store
            .load(&Which {
                lab: None,
                context: Some("ctx2".into()),
            })
            .unwrap();
        assert_eq!(p, c);
        set_mtime(&b, 1);
        assert_eq!(store.load(&Which::default()).unwrap().0, b);

        let err = store
            .load(&Which {
                lab: Some("lab-b".into()),
                context: Some("ctx9".into()),
            })
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert!(
            err.to_string().contains("not started on context `ctx9`"),
            "{err}"
        );
    }

    #[test]
    fn learner_load_without_state_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::at(dir.path().join("missing"))
            .load(&Which::default())
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert_eq!(err.to_string(), "no lab started; run `labctl start LAB`");
    }

    #[test]
    fn learner_corrupt_file_is_kept_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let path = store.path_for("istio-aks", None);
        std::fs::write(&path, "{\"stateVersion\": 1, \"lab\": \"ist").unwrap();
        let err = store.load(&Which::default()).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_ERROR);
        let msg = err.to_string();
        assert!(
            msg.contains("corrupt") && msg.contains(".corrupt-"),
            "{msg}"
        );
        assert!(!path.exists());
        let backups: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(backups.len(), 1);
        assert!(msg.contains(&backups[0].display().to_string()), "{msg}");
        assert_eq!(
            std::fs::read_to_string(&backups[0]).unwrap(),
            "{\"stateVersion\": 1, \"lab\": \"ist"
        );
        // Nothing was reset: with the file moved aside, there is no state at all.
        assert_eq!(
            store.load(&Which::default()).unwrap_err().exit_code(),
            crate::error::EXIT_USAGE
        );
    }

    #[test]
    fn learner_newer_state_version_is_refused_not_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let path = store.path_for("istio-aks", None);
        std::fs::write(&path, "{\"stateVersion\": 99, \"future\": true}").unwrap();
        let err = store.load(&Which::default()).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::EXIT_ERROR);
        assert!(err.to_string().contains("newer labctl"), "{err}");
        assert!(path.exists());
    }
}
