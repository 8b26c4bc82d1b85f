//! "Grade until it passes or the time runs out, keeping the last report", written once for
//! `labctl check --wait` and each step of `labctl ci`. Re-grades on every change of what the
//! step reads ([`crate::view::watch::until`]: watches plus a slow safety re-check); every look
//! at the cluster ends by the deadline, so a server that never answers costs the wait asked
//! for, not the usual 30 s of one look.

use crate::error::Error;
use crate::eval::discover::Resolver;
use crate::eval::result::Status;
use crate::grade::session::{FETCH_TIMEOUT, Look, Session};
use crate::report::event::{GradeReport, RunInfo};
use crate::view::query::queries;
use std::sync::Mutex;
use std::time::{Duration, Instant};

impl Session {
    /// Grade `step` once; with `wait`, keep re-grading on every change until it passes or the
    /// wait ends. Returns the passing look, or the last failing one. `failing` hears of each
    /// failing look that a wait follows (a spinner's message). A first look that cannot grade
    /// is an `Err`; later ones that cannot are passed over (a blip of the network is not the
    /// answer).
    pub async fn until_passed(
        &self,
        resolver: &Resolver,
        step: &str,
        info: &RunInfo,
        wait: Option<Duration>,
        failing: &(dyn Fn(&GradeReport) + Sync),
    ) -> Result<Look, Error> {
        let deadline = wait.map(|w| Instant::now() + w);
        let look = || self.look(resolver, step, info, fetch_budget(deadline));
        let first = look().await?;
        let Some(deadline) = deadline.filter(|_| first.report.status != Status::Passed) else {
            return Ok(first);
        };
        failing(&first.report);
        // The latest failing look, the answer if time runs out.
        let last = Mutex::new(first);
        // A new istiod (a revision discovered) must re-grade as much as a changed check object.
        let mut watched = queries(&resolver.base, Some(step));
        watched.extend(resolver.queries());
        let left = deadline.saturating_duration_since(Instant::now());
        let passed = crate::view::watch::until(self.connection(), &watched, left, || {
            let last = &last;
            async move {
                match look().await {
                    Ok(l) if l.report.status == Status::Passed => Some(l),
                    Ok(l) => {
                        failing(&l.report);
                        if let Ok(mut last) = last.lock() {
                            *last = l;
                        }
                        None
                    }
                    Err(_) => None,
                }
            }
        })
        .await;
        match passed {
            Some(p) => Ok(p),
            None => last
                .into_inner()
                .map_err(|_| Error::Internal("internal error: poisoned lock".into())),
        }
    }
}

/// How long the next look at the cluster may take: the usual bound, or what is left of the wait.
fn fetch_budget(deadline: Option<Instant>) -> Duration {
    match deadline {
        Some(d) => d
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(200), FETCH_TIMEOUT),
        None => FETCH_TIMEOUT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_never_outlasts_the_wait_nor_the_usual_bound() {
        assert_eq!(fetch_budget(None), FETCH_TIMEOUT);
        let soon = Instant::now() + Duration::from_secs(3);
        assert!(fetch_budget(Some(soon)) <= Duration::from_secs(3));
        let later = Instant::now() + Duration::from_secs(600);
        assert_eq!(fetch_budget(Some(later)), FETCH_TIMEOUT);
        // Past the deadline, the last look still gets a moment.
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(fetch_budget(Some(past)), Duration::from_millis(200));
    }
}
