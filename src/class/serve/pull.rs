//! The learners of a served class whose roster entry names a cluster (kubeconfig, context) or a
//! snapshot: the server grades them by pulling, as `labctl class report` does (the same
//! [`grade_class`], so command checks and probes are not run), at start and then every interval
//! on a thread of its own; their rows join the pushed learners' on the dashboard and in the
//! exports, their source marked [`PULLED`].

use super::board::PULLED;
use crate::class::report::{ClassReport, LearnerResult};
use crate::class::roster::{Roster, Source};
use crate::class::run::{ClassOptions, grade_class};
use crate::error::Error;
use crate::labfile::lab::Lab;
use std::collections::BTreeMap;
use std::time::Duration;

/// Each cluster's fetch gives up after this long, as `class report`'s default.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The latest pulled row of each pulled learner, by name.
pub type Pulled = BTreeMap<String, LearnerResult>;

/// The roster's learners the server pulls (an empty list when everyone pushes).
pub fn pulled_only(roster: &Roster) -> Roster {
    Roster {
        learners: roster
            .learners
            .iter()
            .filter(|l| l.source != Source::Pushed)
            .cloned()
            .collect(),
        ..roster.clone()
    }
}

/// Grade `roster`'s learners once by pulling; each row's source marked as pulled.
pub fn once(
    lab: &Lab,
    roster: &Roster,
    runtime: &tokio::runtime::Runtime,
) -> Result<Pulled, Error> {
    let opts = ClassOptions {
        profile: None,
        concurrency: 16,
        timeout: FETCH_TIMEOUT,
        cluster_wide_lists: true,
        progress: false,
    };
    let (report, _) = grade_class(lab, roster, &opts, runtime)?;
    Ok(report
        .learners
        .into_iter()
        .map(|mut row| {
            row.source = format!("{PULLED}{}", row.source);
            (row.name.clone(), row)
        })
        .collect())
}

/// Put the pulled learners' rows in place of their (empty) pushed ones.
pub fn merge(report: &mut ClassReport, pulled: &Pulled) {
    if pulled.is_empty() {
        return;
    }
    for row in &mut report.learners {
        if let Some(p) = pulled.get(&row.name) {
            *row = p.clone();
        }
    }
    report.sort();
}

/// Pull `roster` now and then every `every`, for as long as the process runs, handing each
/// round's rows to `done`. A round that cannot grade at all says why on stderr; the next one
/// tries again.
pub fn start(
    lab: Lab,
    roster: Roster,
    every: Duration,
    done: impl Fn(Pulled) + Send + 'static,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("class-pull".into())
        .spawn(move || {
            loop {
                match once(&lab, &roster, &runtime) {
                    Ok(rows) => done(rows),
                    Err(e) => eprintln!(
                        "labctl class serve: pulling learners failed: {}",
                        crate::render::text::plain_text(&e.to_string())
                    ),
                }
                std::thread::sleep(every);
            }
        })
        .map(|_| ())
}
