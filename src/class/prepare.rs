//! One learner's plan: the lab resolved with their variables (layered as the roster says),
//! the queries it needs, and — for a snapshot learner — the snapshot's objects. A learner whose
//! plan cannot be made (a snapshot of another lab or profile, a variable cycle) keeps the
//! reason, to be shown on their row.

use super::roster::{Learner, Source};
use super::shared::{SnapshotFile, SnapshotFiles};
use crate::plan::resolve::Plan;
use crate::spec::lab::{Lab, StepType};
pub(crate) use crate::view::live::chain;
use crate::view::query::{Query, queries};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// A learner ready to grade, or the reason they cannot be.
pub struct Prepared<'r> {
    pub learner: &'r Learner,
    pub plan: Result<(Plan, BTreeSet<Query>, Option<PathBuf>), String>,
    /// For snapshot learners: what the snapshot holds (shared by every learner on the file).
    pub snapshot: Option<Arc<SnapshotFile>>,
}

pub fn describe(source: &Source) -> String {
    let file = |p: &PathBuf| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    match source {
        Source::Cluster {
            shared: Some(name), ..
        } => format!("cluster {name}"),
        Source::Cluster {
            kubeconfig,
            context,
            ..
        } => {
            let mut s = kubeconfig.as_ref().map_or_else(
                || "kubeconfig".to_owned(),
                |k| format!("kubeconfig {}", file(k)),
            );
            if let Some(c) = context {
                s.push_str(&format!(" ({c})"));
            }
            s
        }
        Source::Snapshot(p) => format!("snapshot {}", file(p)),
    }
}

/// The learner's plan (variables layered as the roster docs say) and the queries it needs;
/// a snapshot learner's file comes from `files`, read once for all learners on it.
pub fn prepare<'r>(
    lab: &Lab,
    profile: &str,
    learner: &'r Learner,
    files: &SnapshotFiles,
) -> Prepared<'r> {
    let mut snapshot = None;
    let plan = (|| {
        let mut vars = learner.variables.clone();
        let mut snap_path = None;
        if let Source::Snapshot(path) = &learner.source {
            let snap = files.get(path)?;
            if snap.lab != lab.name {
                return Err(format!(
                    "the snapshot is of lab `{}`, not `{}`",
                    snap.lab, lab.name
                ));
            }
            if snap.profile != profile {
                return Err(format!(
                    "the snapshot was captured for profile `{}`, not `{profile}` (set `profile:` in the roster, or --profile)",
                    snap.profile
                ));
            }
            vars.extend(snap.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
            snapshot = Some(snap);
            snap_path = Some(path.clone());
        }
        vars.extend(learner.own_variables.iter().cloned());
        let mut plan = Plan::new(lab, Some(profile), &vars).map_err(|e| e.to_string())?;
        plan.steps.retain(|s| s.step_type != StepType::Cleanup);
        // Instructions, code blocks and hints are for the learner's terminal, not for grading:
        // 200 copies of them would be most of a class report's plans.
        for s in &mut plan.steps {
            (s.markdown, s.blocks, s.hints) = (String::new(), Vec::new(), Vec::new());
        }
        let q = queries(&plan, None);
        Ok((plan, q, snap_path))
    })();
    Prepared {
        learner,
        plan,
        snapshot,
    }
}
