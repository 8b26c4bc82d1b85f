//! Progress of a class report while it is made: which phase (connecting to the clusters,
//! grading the learners) and how far, as a bar on stderr. Only on a terminal: piped or
//! redirected output, CI logs and `--json -` readers get nothing from here, not even a blank line.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

pub struct Progress {
    bar: ProgressBar,
    show: bool,
}

impl Progress {
    /// A bar drawn on stderr when `show` (stderr is a terminal), else one that draws nothing.
    pub fn new(show: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{msg:<10} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Progress { bar, show }
    }

    /// A phase starts: drawn at once, whole (the steady tick keeps the elapsed time moving).
    fn phase(&self, message: &'static str, len: usize) {
        // Hidden while it changes, so no half-updated bar ("fetching 0/2000") is drawn.
        self.bar.set_draw_target(ProgressDrawTarget::hidden());
        self.bar.set_length(len as u64);
        self.bar.set_position(0);
        self.bar.set_message(message);
        if self.show {
            // At most 10 redraws a second: 10,000 learners must not mean 10,000 writes.
            self.bar
                .set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            self.bar.enable_steady_tick(Duration::from_millis(250));
            self.bar.tick();
        }
    }

    /// Connecting and listing: `clusters` connections.
    pub fn fetching(&self, clusters: usize) {
        self.phase("fetching", clusters);
    }

    pub fn fetched(&self) {
        self.bar.inc(1);
    }

    /// Grading `learners` learners.
    pub fn grading(&self, learners: usize) {
        self.phase("grading", learners);
    }

    pub fn graded(&self) {
        self.bar.inc(1);
    }

    /// Where the bar is, for tests: (position, length).
    pub fn position(&self) -> (u64, u64) {
        (self.bar.position(), self.bar.length().unwrap_or(0))
    }
}

impl Drop for Progress {
    /// The bar goes away before the report is printed.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_phases_without_drawing() {
        let p = Progress::new(false);
        assert!(p.bar.is_hidden());
        p.fetching(2);
        p.fetched();
        assert_eq!(p.position(), (1, 2));
        p.grading(3);
        p.graded();
        p.graded();
        assert_eq!(p.position(), (2, 3));
    }
}
