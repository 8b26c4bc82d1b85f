//! Ctrl-C and SIGTERM: what labctl does when asked to stop while it has something to clean up
//! (probe pods, a content-CI run). Neutral: probe, grade and the commands use it, and the exit
//! codes in [`crate::error`] come from here.

/// Interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;
/// Terminated by SIGTERM (128 + 15).
pub const EXIT_TERMINATED: i32 = 143;

/// A signal that stops a grade while probe pods may be alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C.
    Interrupt,
    /// `kill`, a CI job's timeout.
    Terminate,
}

impl Signal {
    /// The exit code shells report for it: 128 + the signal number.
    pub const fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => EXIT_INTERRUPTED,
            Signal::Terminate => EXIT_TERMINATED,
        }
    }
}

/// Resolves when Ctrl-C (SIGINT) or SIGTERM arrives. Once polled, labctl handles both itself
/// (tokio keeps the handlers installed), so callers must end the process when it resolves.
pub async fn interrupted() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => Signal::Interrupt,
                _ = term.recv() => Signal::Terminate,
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    Signal::Interrupt
}
