//! The `labctl ci` engine: replay a lab for one profile, step by step — run the step's solve
//! blocks (the same bytes a learner copies), wait for its checks with the watch-based wait of
//! `labctl check --wait`, stop at the first failure with debug output — then run the cleanup
//! and list what it left behind. It emits events and returns the report; it never prints.

use crate::ci::exec::run_block;
use crate::ci::leftovers::{leftovers, scope, uids};
use crate::ci::report::{CiEvent, CiReport, CiRun, CiStep, CommandRun, Leftover, StepOutcome};
use crate::ci::{debug, substitute_stand_ins};
use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::grade::session::{FETCH_TIMEOUT, Session};
use crate::labfile::lab::{Lab, StepType};
use crate::plan::resolve::{Plan, PlannedStep};
use crate::report::event::{RunInfo, StepReport};
use crate::report::set::ReporterSet;
use crate::view::objects::ObjectSet;
use crate::view::query::{Query, queries};
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
    /// Run declared manifest URLs from their local stand-ins (offline runs).
    pub stand_ins: bool,
}

struct Engine<'a, 'r> {
    session: &'a Session,
    /// The lab whose steps this engine runs: `Some(name)` for the prerequisite's (setup and its
    /// cleanup), `None` for the lab's own.
    prerequisite: Option<&'a str>,
    lab: &'a Lab,
    plan: &'a Plan,
    resolver: &'a Resolver,
    opts: &'a CiOptions,
    info: RunInfo,
    reporters: &'a mut ReporterSet<'r, CiRun>,
}

/// Replay the lab against the session's cluster, its commands in the session's environment and
/// its checks' probes run by the session (skipped with `--no-probes`). A reporter that fails does not stop the replay: its error
/// waits for [`ReporterSet::finish`]. Each step's commands and checks are made with the values
/// discovered from the cluster just before it (step 1 may install a revision the lab never
/// named; the later steps then use it).
pub async fn run(
    session: &Session,
    resolver: &Resolver,
    opts: &CiOptions,
    reporters: &mut ReporterSet<'_, CiRun>,
) -> Result<CiReport, Error> {
    let started = Instant::now();
    let (lab, plan) = (resolver.lab(), &resolver.base);
    let info = session.info(plan);
    let conn = session.connection();
    // A lab that `requires:` another starts where that one's step `through` leaves the
    // cluster: its solve blocks run first, as setup (not with --from: the cluster is there
    // already), and its cleanup last.
    let setup = resolver.prerequisite().transpose()?;
    let required = lab.requires.as_ref();
    let mut e = Engine {
        session,
        prerequisite: None,
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
    let extra: Vec<&Plan> = setup.iter().map(|r| &r.base).collect();
    let before = uids(&e.list_everything(&extra).await?);

    let mut steps = Vec::new();
    let mut failed: Option<String> = None;
    if let (Some(r), Some(req), None) = (&setup, required, &opts.from) {
        let mut pre = e.on(r, Some(&req.lab.name));
        let through = r.base.steps.iter().position(|s| s.id == req.through);
        let work = &r.base.steps[..through.map_or(0, |i| i + 1)];
        let total = r.base.steps.len();
        for (index, step) in work.iter().enumerate() {
            let done = match &failed {
                Some(f) => not_run(step, format!("step `{f}` failed before it")),
                None => pre.step(index, total, step).await,
            };
            if !matches!(done.outcome, StepOutcome::Passed | StepOutcome::NotRun(_)) {
                failed = Some(format!("{}/{}", req.lab.name, step.id));
            }
            let done = CiStep {
                prerequisite: Some(req.lab.name.clone()),
                ..done
            };
            pre.emit(&CiEvent::StepFinished(&done));
            steps.push(done);
        }
        e = pre.on(resolver, None);
    }

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
        // Then the prerequisite's cleanup: what the setup built. Run with --from too: the
        // prerequisite's objects were there before the run, but a replay that ends clean
        // leaves a clean cluster (use --keep to keep them).
        if let (Some(r), Some(req)) = (&setup, required)
            && let Some(c) = r
                .base
                .steps
                .iter()
                .find(|s| s.step_type == StepType::Cleanup)
        {
            let total = r.base.steps.len();
            let mut pre = e.on(r, Some(&req.lab.name));
            let cleanup = CiStep {
                prerequisite: Some(req.lab.name.clone()),
                ..pre.step(total - 1, total, c).await
            };
            pre.emit(&CiEvent::StepFinished(&cleanup));
            steps.push(cleanup);
            e = pre.on(resolver, None);
        }
        leftover_list = e.leftovers(&before, &extra).await;
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
        prerequisite: None,
        commands: Vec::new(),
        grade: None,
        outcome: StepOutcome::NotRun(reason),
        debug: None,
        duration: Duration::ZERO,
    }
}

impl<'a, 'r> Engine<'a, 'r> {
    /// The same run, going on with the steps of `resolver`'s lab (the prerequisite's, named
    /// `prerequisite`, or the lab's own with `None`).
    fn on(self, resolver: &'a Resolver, prerequisite: Option<&'a str>) -> Engine<'a, 'r> {
        Engine {
            prerequisite,
            lab: resolver.lab(),
            plan: &resolver.base,
            resolver,
            ..self
        }
    }

    fn emit(&mut self, event: &CiEvent<'_>) {
        self.reporters.write_event(event);
    }

    /// What the leftover report lists: everything the lab's checks read, in every step (and
    /// those of `extra` plans: the prerequisite's), and every Namespace (to know which are
    /// terminating).
    fn everything(&self, extra: &[&Plan]) -> BTreeSet<Query> {
        let mut all = queries(self.plan, None);
        for p in extra {
            all.extend(queries(p, None));
        }
        all.insert(crate::ci::leftovers::namespaces());
        all
    }

    /// The objects of [`Self::everything`].
    async fn list_everything(&self, extra: &[&Plan]) -> Result<ObjectSet, Error> {
        self.session
            .list(&self.everything(extra), FETCH_TIMEOUT)
            .await
    }

    /// What the run created and the cleanup left. Deletion is asynchronous (the garbage
    /// collector removes a deleted Deployment's pods a moment later), so leftovers get the step
    /// timeout to disappear, watched like a step's checks; what remains then is reported.
    async fn leftovers(&self, before: &BTreeSet<String>, extra: &[&Plan]) -> Option<Vec<Leftover>> {
        let mut scope = scope(self.plan);
        for p in extra {
            for (q, sels) in crate::ci::leftovers::scope(p) {
                scope.entry(q).or_default().extend(sels);
            }
        }
        let last = Mutex::new(None);
        let watched = self.everything(extra);
        crate::view::watch::until(
            self.session.connection(),
            &watched,
            self.opts.step_timeout,
            || {
                let (last, scope) = (&last, &scope);
                async move {
                    let after = self.list_everything(extra).await.ok()?;
                    let found = leftovers(before, &after, scope);
                    let clean = found.is_empty();
                    if let Ok(mut l) = last.lock() {
                        *l = Some(found);
                    }
                    clean.then_some(())
                }
            },
        )
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
            prerequisite: self.prerequisite,
        });
        let current = match self.session.resolve_now(self.resolver).await {
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
                let debug = debug::collect(&self.client(), step, None, None).await;
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
                    debug::collect(&self.client(), step, Some(&report), Some(&objects)).await;
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
        let (opts, env, reporters) = (self.opts, self.session.env(), &mut *self.reporters);
        let (outcome, output) = tokio::task::block_in_place(|| {
            run_block(&code, env, opts.command_timeout, &mut |line| {
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

    /// The client of the session's connection (for debug output).
    fn client(&self) -> kube::Client {
        self.session.connection().client.clone()
    }

    /// Grade the step now, and if it does not pass, again on every change until the timeout.
    /// Returns the passing grade, or the last failing one with the objects it read.
    async fn wait(&self, step: &PlannedStep) -> Result<(StepReport, ObjectSet), Error> {
        let wait = Some(self.opts.step_timeout);
        let look = self
            .session
            .until_passed(self.resolver, &step.id, &self.info, wait, &|_| {})
            .await?;
        Ok((only_step(look.report.steps), look.objects))
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
        prerequisite: None,
        commands,
        grade,
        outcome,
        debug: (!debug.is_empty()).then_some(debug),
        duration: started.elapsed(),
    }
}
