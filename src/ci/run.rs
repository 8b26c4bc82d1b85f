//! The `labctl ci` engine: replay a lab for one profile, step by step — run the step's solve
//! blocks (the same bytes a learner copies), wait for its checks with the watch-based wait of
//! `labctl check --wait`, stop at the first failure with debug output — then run the cleanup
//! and list what it left behind. It emits events and returns the report; it never prints.

use crate::ci::exec::{CommandEnv, run_block};
use crate::ci::leftovers::{leftovers, scope, uids};
use crate::ci::report::{CiEvent, CiReport, CiRun, CiStep, CommandRun, Leftover, StepOutcome};
use crate::ci::{debug, substitute_stand_ins};
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::grade::live::{FETCH_TIMEOUT, grade_step, resolve_now};
use crate::plan::resolve::{Plan, PlannedStep};
use crate::probe::run::Prober;
use crate::report::event::{GradeReport, RunInfo, StepReport};
use crate::report::set::ReporterSet;
use crate::spec::lab::{Lab, StepType};
use crate::view::connect::Connection;
use crate::view::live::{FetchOptions, fetch_report, first_fatal};
use crate::view::objects::ObjectSet;
use crate::view::query::{Query, queries};
use crate::view::snapshot::now_rfc3339;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct CiOptions {
    /// Start at this step (the earlier ones are already done on the cluster).
    pub from: Option<String>,
    /// Leave everything in place: no cleanup, no leftover report.
    pub keep: bool,
    /// How long a step's checks may take to pass once its commands are done.
    pub step_timeout: Duration,
    /// How long one code block may run.
    pub command_timeout: Duration,
    pub env: CommandEnv,
    /// Run declared manifest URLs from their local stand-ins (offline runs).
    pub stand_ins: bool,
}

struct Engine<'a, 'r> {
    conn: &'a Connection,
    prober: Option<&'a Prober>,
    lab: &'a Lab,
    plan: &'a Plan,
    resolver: &'a Resolver,
    opts: &'a CiOptions,
    info: RunInfo,
    reporters: &'a mut ReporterSet<'r, CiRun>,
}

/// Replay the lab against the cluster behind `conn`; `prober` runs the checks' probes (`None`:
/// they are skipped, `--no-probes`). A reporter that fails does not stop the replay: its error
/// waits for [`ReporterSet::finish`]. Each step's commands and checks are made with the values
/// discovered from the cluster just before it (step 1 may install a revision the lab never
/// named; the later steps then use it).
pub async fn run(
    conn: &Connection,
    prober: Option<&Prober>,
    resolver: &Resolver,
    opts: &CiOptions,
    reporters: &mut ReporterSet<'_, CiRun>,
) -> Result<CiReport, Error> {
    let started = Instant::now();
    let (lab, plan) = (resolver.lab(), &resolver.base);
    let info = RunInfo {
        lab: plan.lab.clone(),
        title: plan.title.clone(),
        profile: plan.profile.clone(),
        revision: plan.values.get("revision").cloned(),
        context: Some(conn.context_name.clone()),
        snapshot: None,
        learner: None,
        started_at: now_rfc3339(),
        warnings: Vec::new(),
        discovered: Vec::new(),
    };
    let mut e = Engine {
        conn,
        prober,
        lab,
        plan,
        resolver,
        opts,
        info,
        reporters,
    };
    e.emit(&CiEvent::Started {
        lab: &plan.lab,
        profile: &plan.profile,
        context: Some(&conn.context_name),
    });
    // What exists before the run, so that only what the run created counts as a leftover.
    let before = uids(&e.list_everything().await?);

    let work: Vec<&PlannedStep> = plan
        .steps
        .iter()
        .filter(|s| s.step_type != StepType::Cleanup)
        .collect();
    let first = match &opts.from {
        Some(id) => work.iter().position(|s| s.id == *id).unwrap_or(0),
        None => 0,
    };
    let total = plan.steps.len();
    let mut steps = Vec::new();
    let mut failed: Option<String> = None;
    for (index, step) in work.iter().enumerate() {
        let reason = if index < first {
            Some(format!("before --from {}", work[first].id))
        } else {
            failed
                .as_ref()
                .map(|f| format!("step `{f}` failed before it"))
        };
        let done = match reason {
            Some(r) => not_run(step, r),
            None => e.step(index, total, step).await,
        };
        if !matches!(done.outcome, StepOutcome::Passed | StepOutcome::NotRun(_)) {
            failed = Some(step.id.clone());
        }
        e.emit(&CiEvent::StepFinished(&done));
        steps.push(done);
    }

    let mut leftover_list = None;
    if !opts.keep {
        // `labctl validate` guarantees exactly one cleanup step, the last.
        if let Some(c) = plan.steps.iter().find(|s| s.step_type == StepType::Cleanup) {
            let cleanup = e.step(total - 1, total, c).await;
            e.emit(&CiEvent::StepFinished(&cleanup));
            steps.push(cleanup);
        }
        leftover_list = e.leftovers(&before).await;
    }
    let report = CiReport {
        lab: plan.lab.clone(),
        profile: plan.profile.clone(),
        context: Some(conn.context_name.clone()),
        started_at: e.info.started_at.clone(),
        steps,
        leftovers: leftover_list,
        duration: started.elapsed(),
    };
    e.emit(&CiEvent::Finished(&report));
    Ok(report)
}

fn not_run(step: &PlannedStep, reason: String) -> CiStep {
    CiStep {
        id: step.id.clone(),
        title: step.title.clone(),
        cleanup: step.step_type == StepType::Cleanup,
        commands: Vec::new(),
        grade: None,
        outcome: StepOutcome::NotRun(reason),
        debug: None,
        duration: Duration::ZERO,
    }
}

impl Engine<'_, '_> {
    fn emit(&mut self, event: &CiEvent<'_>) {
        self.reporters.write_event(event);
    }

    /// What the leftover report lists: everything the lab's checks read, in every step, and
    /// every Namespace (to know which are terminating).
    fn everything(&self) -> BTreeSet<Query> {
        let mut all = queries(self.plan, None);
        all.insert(crate::ci::leftovers::namespaces());
        all
    }

    /// The objects of [`Self::everything`].
    async fn list_everything(&self) -> Result<ObjectSet, Error> {
        let opts = FetchOptions::new(FETCH_TIMEOUT).server_url(self.conn.server_url.clone());
        let fetched = fetch_report(self.conn, &self.everything(), &opts).await;
        match first_fatal(&fetched.objects) {
            Some(fatal) => Err(Error::Cluster(fatal.clone())),
            None => Ok(fetched.objects),
        }
    }

    /// What the run created and the cleanup left. Deletion is asynchronous (the garbage
    /// collector removes a deleted Deployment's pods a moment later), so leftovers get the step
    /// timeout to disappear, watched like a step's checks; what remains then is reported.
    async fn leftovers(&self, before: &BTreeSet<String>) -> Option<Vec<Leftover>> {
        let scope = scope(self.plan);
        let last = Mutex::new(None);
        let watched = self.everything();
        crate::view::watch::until(self.conn, &watched, self.opts.step_timeout, || {
            let (last, scope) = (&last, &scope);
            async move {
                let after = self.list_everything().await.ok()?;
                let found = leftovers(before, &after, scope);
                let clean = found.is_empty();
                if let Ok(mut l) = last.lock() {
                    *l = Some(found);
                }
                clean.then_some(())
            }
        })
        .await;
        last.into_inner().ok().flatten()
    }

    /// Run one step's solve blocks, then wait for its checks.
    async fn step(&mut self, index: usize, total: usize, step: &PlannedStep) -> CiStep {
        let started = Instant::now();
        let cleanup = step.step_type == StepType::Cleanup;
        self.emit(&CiEvent::StepStarted {
            index,
            total,
            id: &step.id,
            title: &step.title,
            cleanup,
        });
        let current = match resolve_now(self.conn, self.resolver).await {
            Ok(plan) => plan,
            Err(e) => {
                let outcome = StepOutcome::CouldNotGrade(e.to_string());
                return finished(step, Vec::new(), None, outcome, String::new(), started);
            }
        };
        for d in &current.discovered {
            self.emit(&CiEvent::Discovered(d));
        }
        let step = current
            .steps
            .iter()
            .find(|s| s.id == step.id)
            .unwrap_or(step);
        let blocks: Vec<_> = step.solve_blocks().collect();
        let origin = self.origin(&step.id);
        let mut commands = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let run = self.command(
                i + 1,
                blocks.len(),
                &format!("{origin}:{}", block.fence_line),
                &block.code,
            );
            let ok = run.outcome.ok();
            commands.push(run);
            if !ok {
                let debug = debug::collect(&self.conn.client, step, None, None).await;
                return finished(
                    step,
                    commands,
                    None,
                    StepOutcome::CommandFailed,
                    debug,
                    started,
                );
            }
        }
        self.emit(&CiEvent::Waiting {
            timeout: self.opts.step_timeout,
        });
        match self.wait(step).await {
            Ok((report, _)) if report.status == Status::Passed => finished(
                step,
                commands,
                Some(report),
                StepOutcome::Passed,
                String::new(),
                started,
            ),
            Ok((report, objects)) => {
                let debug =
                    debug::collect(&self.conn.client, step, Some(&report), Some(&objects)).await;
                finished(
                    step,
                    commands,
                    Some(report),
                    StepOutcome::ChecksFailed,
                    debug,
                    started,
                )
            }
            Err(e) => finished(
                step,
                commands,
                None,
                StepOutcome::CouldNotGrade(e.to_string()),
                String::new(),
                started,
            ),
        }
    }

    /// The step's instructions file, relative to the lab folder, for `file:line` origins.
    fn origin(&self, step: &str) -> String {
        self.lab
            .steps
            .iter()
            .find(|s| s.id == step)
            .map(|s| s.instructions.display().to_string())
            .unwrap_or_default()
    }

    fn command(&mut self, index: usize, total: usize, origin: &str, code: &str) -> CommandRun {
        let code = if self.opts.stand_ins {
            substitute_stand_ins(code, self.lab)
        } else {
            code.to_owned()
        };
        self.emit(&CiEvent::CommandStarted {
            index,
            total,
            origin,
            code: &code,
        });
        let started = Instant::now();
        let (opts, reporters) = (self.opts, &mut *self.reporters);
        let (outcome, output) = tokio::task::block_in_place(|| {
            run_block(&code, &opts.env, opts.command_timeout, &mut |line| {
                reporters.write_event(&CiEvent::Output(line))
            })
        });
        let run = CommandRun {
            index,
            origin: origin.to_owned(),
            code,
            output,
            outcome,
            duration: started.elapsed(),
        };
        self.emit(&CiEvent::CommandFinished(&run));
        run
    }

    /// One look at the cluster for `step` (its command checks in the commands' environment).
    async fn grade(&self, step: &PlannedStep) -> Result<(GradeReport, ObjectSet), Error> {
        let (conn, info, env) = (self.conn, &self.info, &self.opts.env);
        grade_step(
            conn,
            self.prober,
            self.resolver,
            &step.id,
            info,
            env,
            FETCH_TIMEOUT,
        )
        .await
    }

    /// Grade the step now, and if it does not pass, again on every change until the timeout.
    /// Returns the passing grade, or the last failing one with the objects it read.
    async fn wait(&self, step: &PlannedStep) -> Result<(StepReport, ObjectSet), Error> {
        let (first, objects) = self.grade(step).await?;
        if first.status == Status::Passed {
            return Ok((only_step(first.steps), objects));
        }
        let last = Mutex::new((only_step(first.steps), objects));
        // The last grade is the answer either way: passing if the wait succeeded.
        let mut watched = queries(self.plan, Some(&step.id));
        watched.extend(self.resolver.queries());
        crate::view::watch::until(self.conn, &watched, self.opts.step_timeout, || {
            let last = &last;
            async move {
                let (r, objects) = self.grade(step).await.ok()?;
                let passed = r.status == Status::Passed;
                if let Ok(mut l) = last.lock() {
                    *l = (only_step(r.steps), objects);
                }
                passed.then_some(())
            }
        })
        .await;
        last.into_inner()
            .map_err(|_| Error::Internal("internal error: poisoned lock".into()))
    }
}

fn only_step(mut steps: Vec<StepReport>) -> StepReport {
    steps.pop().unwrap_or(StepReport {
        id: String::new(),
        title: String::new(),
        status: Status::Error,
        duration: Duration::ZERO,
        checks: Vec::new(),
    })
}

fn finished(
    step: &PlannedStep,
    commands: Vec<CommandRun>,
    grade: Option<StepReport>,
    outcome: StepOutcome,
    debug: String,
    started: Instant,
) -> CiStep {
    CiStep {
        id: step.id.clone(),
        title: step.title.clone(),
        cleanup: step.step_type == StepType::Cleanup,
        commands,
        grade,
        outcome,
        debug: (!debug.is_empty()).then_some(debug),
        duration: started.elapsed(),
    }
}
