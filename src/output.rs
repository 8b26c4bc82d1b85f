//! Standard output that never panics. Rust's `print!` panics when stdout fails (exit 101 and a
//! backtrace for `labctl list | head -0`, or `labctl status > /dev/full`). Here:
//!
//! - a reader that went away (a closed pipe) turns the rest of the output into a no-op: the
//!   command finishes normally — probe pods deleted, state saved — and exits quietly with its
//!   own code, like other CLI tools; loops that only print (`class report --watch`) stop;
//! - any other write error (a full disk) is kept, fails the writes that follow, and `main`
//!   reports it once: "cannot write to standard output: …", exit 2.
//!
//! `print!`/`println!` in this crate are this module's (see `lib.rs`), and reporters get
//! [`Stdout`] instead of `std::io::stdout()`.

use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);
static FAILED: Mutex<Option<io::Error>> = Mutex::new(None);

/// The process's standard output, with the rules of the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        guarded(buf.len(), |out| out.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        guarded(0, |out| out.flush().map(|()| 0)).map(|_| ())
    }
}

fn guarded(
    len: usize,
    op: impl FnOnce(&mut io::StdoutLock) -> io::Result<usize>,
) -> io::Result<usize> {
    if closed() {
        return Ok(len);
    }
    if let Some(e) = FAILED.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        return Err(io::Error::new(e.kind(), e.to_string()));
    }
    match op(&mut io::stdout().lock()) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(len)
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
        Err(e) => {
            let copy = io::Error::new(e.kind(), e.to_string());
            FAILED
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            Err(copy)
        }
    }
}

/// What `print!` does in this crate: write, and leave failures to [`finish`].
pub fn print(args: std::fmt::Arguments<'_>) {
    let _ = Stdout.write_fmt(args);
}

/// Whether the reader of standard output went away.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// Flush, and return the write error to report, if any (a closed pipe is not one).
pub fn finish() -> Option<io::Error> {
    let _ = Stdout.flush();
    FAILED.lock().unwrap_or_else(|p| p.into_inner()).take()
}
