//! The one reporter set every run uses (`labctl grade`, `labctl ci`, `labctl class report`),
//! its error policy, and the one reporter that writes a file at the end (like nextest's
//! `reporter/`: a builder of reporters, `write_event`, errors that carry their file).
//!
//! The policy: every reporter gets every event, in the order they were added. A reporter that
//! fails keeps its first error and gets no more events; the others go on (a full disk for the
//! JUnit file must not hide the terminal output, and vice versa). At the end,
//! [`ReporterSet::finish`] returns the errors, each naming its reporter's file or output.

use super::event::{Grading, Protocol, Reporter};
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

/// A reporter could not write its output.
#[derive(Debug, thiserror::Error)]
pub enum ReporterError {
    /// A file reporter could not write its file.
    #[error("cannot write {}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A streaming reporter could not write to its stream.
    #[error("cannot write the terminal output")]
    Output(#[source] io::Error),
}

impl From<io::Error> for ReporterError {
    fn from(source: io::Error) -> Self {
        ReporterError::Output(source)
    }
}

/// The errors of the reporters that failed during a run, one per reporter, never empty.
#[derive(Debug)]
pub struct ReportErrors(pub Vec<ReporterError>);

impl fmt::Display for ReportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                // No single cause to chain: each error says its own.
                write!(f, "{} reporters failed", many.len())?;
                for e in many {
                    match std::error::Error::source(e) {
                        Some(cause) => write!(f, "; {e}: {cause}")?,
                        None => write!(f, "; {e}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ReportErrors {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self.0.as_slice() {
            [one] => std::error::Error::source(one),
            _ => None,
        }
    }
}

/// The reporters of one run, under the policy above.
pub struct ReporterSet<'r, P: Protocol = Grading> {
    /// `None` once the reporter has failed.
    reporters: Vec<Option<&'r mut dyn Reporter<P>>>,
    errors: Vec<ReporterError>,
}

impl<P: Protocol> Default for ReporterSet<'_, P> {
    fn default() -> Self {
        ReporterSet {
            reporters: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<'r, P: Protocol> ReporterSet<'r, P> {
    /// A set with no reporters (grading for its report alone).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a reporter; it gets the events after those added before it.
    pub fn add(&mut self, reporter: &'r mut dyn Reporter<P>) -> &mut Self {
        self.reporters.push(Some(reporter));
        self
    }

    /// Give `event` to every reporter that has not failed.
    pub fn write_event(&mut self, event: &P::Event<'_>) {
        for slot in &mut self.reporters {
            if let Some(reporter) = slot
                && let Err(e) = reporter.event(event)
            {
                self.errors.push(e);
                *slot = None;
            }
        }
    }

    /// The end of the run: the errors of the reporters that failed, if any.
    pub fn finish(self) -> Result<(), ReportErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ReportErrors(self.errors))
        }
    }
}

/// A set is a reporter too (the errors wait for [`ReporterSet::finish`]): for
/// [`replay`](super::collect::replay) and nested sets.
impl<P: Protocol> Reporter<P> for ReporterSet<'_, P> {
    fn event(&mut self, event: &P::Event<'_>) -> Result<(), ReporterError> {
        self.write_event(event);
        Ok(())
    }
}

/// How a file reporter renders the finished report.
pub type Render<R> = fn(&R, &mut dyn Write) -> io::Result<()>;

/// Writes one file when the run finishes (JSON, JUnit, a class report's files), atomically (a
/// reader never sees half a file), creating its directory. Its error names the file.
pub struct FileReporter<P: Protocol = Grading> {
    pub path: PathBuf,
    render: Render<P::Report>,
}

impl<P: Protocol> FileReporter<P> {
    pub fn new(path: impl Into<PathBuf>, render: Render<P::Report>) -> Self {
        FileReporter {
            path: path.into(),
            render,
        }
    }

    /// Write the file for `report` now.
    pub fn write(&self, report: &P::Report) -> Result<(), ReporterError> {
        crate::fsutil::write_atomic_with(&self.path, |w| (self.render)(report, w)).map_err(
            |source| ReporterError::File {
                path: self.path.clone(),
                source,
            },
        )
    }
}

impl<P: Protocol> Reporter<P> for FileReporter<P> {
    fn event(&mut self, event: &P::Event<'_>) -> Result<(), ReporterError> {
        match P::finished(event) {
            Some(report) => self.write(report),
            None => Ok(()),
        }
    }
}

impl<P: Protocol> fmt::Debug for FileReporter<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileReporter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::{Collector, fixture};
    use crate::report::event::Event;

    struct Failing(usize);
    impl Reporter for Failing {
        fn event(&mut self, _: &Event<'_>) -> Result<(), ReporterError> {
            self.0 += 1;
            Err(io::Error::other(format!("failing reporter, call {}", self.0)).into())
        }
    }

    fn text(_: &crate::report::event::GradeReport, w: &mut dyn Write) -> io::Result<()> {
        w.write_all(b"report\n")
    }

    #[test]
    fn a_failing_reporter_does_not_stop_the_others() {
        let report = fixture::report();
        let (mut a, mut b, mut c) = (Failing(0), Collector::new(), Failing(10));
        let mut set = ReporterSet::new();
        set.add(&mut a).add(&mut b).add(&mut c);
        crate::report::collect::replay(&report, &mut set).unwrap();
        let errors = set.finish().unwrap_err();
        // Each failing reporter failed once, then got no more events.
        let said: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
        assert_eq!(said, ["cannot write the terminal output"; 2]);
        let causes: Vec<String> = errors
            .0
            .iter()
            .map(|e| std::error::Error::source(e).unwrap().to_string())
            .collect();
        assert_eq!(
            causes,
            ["failing reporter, call 1", "failing reporter, call 11"]
        );
        assert_eq!((a.0, c.0), (1, 11));
        // The reporter between them got every event.
        assert_eq!(b.into_report().unwrap(), report);
        assert!(
            errors.to_string().starts_with("2 reporters failed; "),
            "{errors}"
        );

        let mut ok = Collector::new();
        let mut set = ReporterSet::new();
        set.add(&mut ok);
        set.write_event(&Event::RunStarted(&report.info));
        set.finish().unwrap();
    }

    #[test]
    fn a_file_reporter_writes_at_the_end_atomically_creating_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/sub/report.txt");
        let report = fixture::report();
        let mut r = FileReporter::<Grading>::new(&path, text);
        r.event(&Event::RunStarted(&report.info)).unwrap();
        assert!(!path.exists());
        r.event(&Event::RunFinished(&report)).unwrap();
        r.event(&Event::RunFinished(&report)).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "report\n");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "temporary file left behind");
    }

    #[test]
    fn a_file_reporter_that_cannot_write_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        // The directory cannot be made: a file stands where it would be.
        std::fs::write(dir.path().join("missing"), "").unwrap();
        let path = dir.path().join("missing/report.xml");
        let report = fixture::report();
        let mut file = FileReporter::<Grading>::new(&path, text);
        let mut other = FileReporter::<Grading>::new(dir.path().join("ok.txt"), text);
        let mut set = ReporterSet::new();
        set.add(&mut file).add(&mut other);
        set.write_event(&Event::RunFinished(&report));
        let errors = set.finish().unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(
            errors.to_string(),
            format!("cannot write {}", path.display())
        );
        assert!(std::error::Error::source(&errors).is_some());
        assert!(matches!(&errors.0[0], ReporterError::File { path: p, .. } if *p == path));
        assert!(
            dir.path().join("ok.txt").exists(),
            "the other file is written"
        );
    }
}
