//! One learner's plan: the lab resolved with their variables (layered as the roster says),
//! the queries it needs, and — for a snapshot learner — the snapshot's objects. A learner whose
//! plan cannot be made (a snapshot of another lab or profile, a variable cycle) keeps the
//! reason, to be shown on their row.

use super::roster::{Learner, Source};
use super::shared::{SnapshotFile, SnapshotFiles};
use crate::eval::discover::Resolver;
use crate::labfile::lab::{Lab, StepType};
use crate::plan::resolve::Plan;
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
    /// For learners on a cluster whose lab reads variables from it: how to make the plan again
    /// once the cluster's objects are in (see `crate::plan::discover`).
    pub resolver: Option<Resolver>,
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
        Source::Pushed => "sends results".to_owned(),
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
    let mut resolver = None;
    let mut discovered_in_snapshot = None;
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
            discovered_in_snapshot = Some(snap.discovered.clone());
            snapshot = Some(snap);
            snap_path = Some(path.clone());
        }
        vars.extend(learner.own_variables.iter().cloned());
        let r = Resolver::new(lab, Some(profile), &vars).map_err(|e| e.to_string())?;
        let mut plan = r.base.clone();
        trim(&mut plan);
        if let Some(snap) = &discovered_in_snapshot {
            plan.discovered = snap.clone();
        }
        let mut q = queries(&plan, None);
        let discoveries = r.queries();
        if !discoveries.is_empty() {
            q.extend(discoveries);
            resolver = Some(r);
        }
        Ok((plan, q, snap_path))
    })();
    Prepared {
        learner,
        plan,
        snapshot,
        resolver,
    }
}

/// A plan as a class report grades it: no cleanup step, and without the instructions, code
/// blocks and hints, which are for the learner's terminal (200 copies of them would be most of
/// a class report's plans).
pub fn trim(plan: &mut Plan) {
    plan.steps.retain(|s| s.step_type != StepType::Cleanup);
    for s in &mut plan.steps {
        (s.markdown, s.blocks, s.hints) = (String::new(), Vec::new(), Vec::new());
    }
}
