//! `labctl start` on a lab that `requires:` another: grade that lab's steps up to `through` on
//! the learner's cluster first, so nobody starts on a base that is not there. Objects and
//! command checks only (no probe pods at start); what is missing is said step by step, with the
//! two ways to get there.

use crate::cmd::learn::StartArgs;
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::grade::run::grade;
use crate::grade::session::{FETCH_TIMEOUT, Options, Session};
use crate::plan::resolve::Plan;
use crate::plan::shell::word;
use crate::render::text::plain_text;
use crate::report::event::GradeReport;
use crate::report::set::ReporterSet;

/// What grading the prerequisite found.
#[derive(Debug)]
pub enum Outcome {
    /// Done: one line for the start page.
    Done(String),
    /// Not done: what fails and how to get there (printed instead of step 1).
    Missing(String),
}

/// Grade the prerequisite of `resolver`'s lab on the cluster `how` names. An `Err` means it
/// could not be graded (unreachable, forbidden): then `start` stops too.
pub fn check(
    resolver: &Resolver,
    how: &StartArgs,
    given: &[(String, String)],
) -> Result<Outcome, Error> {
    let (Some(required), Some(pre)) = (&resolver.lab().requires, resolver.prerequisite()) else {
        return Ok(Outcome::Done(String::new()));
    };
    let name = required.lab.name.clone();
    let wrap = |source: Error| Error::Prerequisite {
        lab: name.clone(),
        source: Box::new(source),
    };
    let pre = pre.map_err(|e| wrap(e.into()))?;
    let through = required.through.clone();
    let opts = Options {
        kubeconfig: how.kubeconfig.clone(),
        context: how.context.clone(),
        probes: false,
    };
    let shape = |p: &mut Plan| {
        if let Some(i) = p.steps.iter().position(|s| s.id == through) {
            p.steps.truncate(i + 1);
        }
    };
    let report = crate::view::runtime::runtime()
        .map_err(Error::from)
        .and_then(|rt| {
            rt.block_on(async {
                let session = Session::open(&opts).await?;
                let (plan, objects) = session.fetch(&pre, None, FETCH_TIMEOUT, &shape).await?;
                let (facts, _) = session.facts(&plan, None, objects).await;
                let info = session.info(&plan).resolved(&plan);
                Ok(tokio::task::block_in_place(|| {
                    grade(&plan, None, &facts, info, &mut ReporterSet::new())
                }))
            })
        })
        .map_err(wrap)?;
    let context = report.info.context.clone().unwrap_or_default();
    if report.status == Status::Passed || report.status == Status::Skipped {
        return Ok(Outcome::Done(format!(
            "Required lab {} is done through step `{}` on {} (checked now, without probes).\n",
            plain_text(&name),
            required.through,
            plain_text(&context),
        )));
    }
    let lab = resolver.lab();
    let profile = &pre.base.profile;
    let vars: String = given
        .iter()
        .filter(|(k, _)| required.lab.variables.iter().any(|v| &v.name == k))
        .map(|(k, v)| format!(" --var {}", word(&format!("{k}={v}"))))
        .collect();
    let mut out = format!(
        "{} builds on {}: its steps up to `{}` must be done on this cluster ({}) first.\n\n",
        plain_text(&lab.name),
        plain_text(&name),
        required.through,
        plain_text(&context),
    );
    out.push_str(&summary(&report));
    let ci = match required.lab.steps.last().map(|s| s.id == required.through) {
        // `ci --keep` runs every step; when the prerequisite goes on past `through`, its later
        // steps change the cluster too (harmless, but say so).
        Some(false) | None => format!(
            "    (it runs all of {name}'s steps; this lab needs them up to `{}`)\n",
            required.through
        ),
        Some(true) => String::new(),
    };
    out.push_str(&format!(
        "\nTo get there, either\n  \
         labctl start {name} --profile {profile}{vars}     work through it yourself, or\n  \
         labctl ci {name} --profile {profile}{vars} --keep     replay its solutions on this cluster\n{ci}\
         then run this `labctl start` again. (`--skip-prerequisite` starts without this check.)\n"
    ));
    Ok(Outcome::Missing(out))
}

/// One line per step graded: done, or the checks that fail (with their diagnosis).
fn summary(report: &GradeReport) -> String {
    let mut out = String::new();
    for (i, step) in report.steps.iter().enumerate() {
        let done = matches!(step.status, Status::Passed | Status::Skipped);
        out.push_str(&format!(
            "  {} {}. {}  {}\n",
            if done { "✓" } else { "✗" },
            i + 1,
            step.id,
            plain_text(&step.title)
        ));
        for c in step
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Failed | Status::Error))
        {
            let why = c
                .diagnoses
                .first()
                .map(|d| format!(" — {}", d.id))
                .or_else(|| c.message.as_ref().map(|m| format!(" — {m}")))
                .unwrap_or_default();
            out.push_str(&format!(
                "       {}{}\n",
                plain_text(&c.title),
                plain_text(&why)
            ));
        }
    }
    out
}
