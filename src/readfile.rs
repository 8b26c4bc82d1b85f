//! Reading the files labctl is handed — lab files, step Markdown, check files, manifests,
//! rosters, snapshots, state files, kubeconfigs — as untrusted input. Only regular files are
//! read (a FIFO would block forever, `/dev/zero` never ends), never more than a size cap, and
//! text must be UTF-8 without NUL bytes. Each refusal says what the path really is, so a
//! directory or a binary file is not reported as "not found".

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

const MIB: u64 = 1024 * 1024;
/// `lab.yaml`, step Markdown, check files, manifest stand-ins.
pub const LAB_FILE_LIMIT: u64 = 4 * MIB;
/// Class rosters (10,000 learners take about 1 MiB).
pub const ROSTER_LIMIT: u64 = 16 * MIB;
/// `labctl snapshot` output: only the lists a lab's checks read.
pub const SNAPSHOT_LIMIT: u64 = 64 * MIB;
/// A learner's progress file.
pub const STATE_LIMIT: u64 = MIB;
/// A kubeconfig file.
pub const KUBECONFIG_LIMIT: u64 = 16 * MIB;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not found")]
    NotFound,
    #[error("is a directory, not a file")]
    Directory,
    #[error("is a {0}, not a regular file")]
    Special(&'static str),
    #[error("is larger than {} MiB", .limit / MIB)]
    TooLarge { limit: u64 },
    /// `text` is the file decoded lossily, to show the line.
    #[error("is not UTF-8 text (byte 0x{byte:02x})")]
    NotUtf8 {
        line: u32,
        col: u32,
        byte: u8,
        text: String,
    },
    #[error("is binary, not text (a NUL byte)")]
    Binary { line: u32, col: u32, text: String },
    #[error("{0}")]
    Io(std::io::Error),
}

impl ReadError {
    /// `path:line:col` when the problem is at a place in the file, else `path`.
    pub fn place(&self, path: &Path) -> String {
        match self.location() {
            Some((line, col, _)) => format!("{}:{line}:{col}", path.display()),
            None => path.display().to_string(),
        }
    }

    /// Where in the file the problem is, with the file's text to quote the line from.
    pub fn location(&self) -> Option<(u32, u32, &str)> {
        match self {
            ReadError::NotUtf8 {
                line, col, text, ..
            }
            | ReadError::Binary { line, col, text } => Some((*line, *col, text)),
            _ => None,
        }
    }
}

/// Read a regular file of at most `limit` bytes as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bytes(path, limit)?;
    let nul = bytes.iter().position(|b| *b == 0);
    match std::str::from_utf8(&bytes) {
        Ok(_) if nul.is_none() => Ok(String::from_utf8(bytes).expect("checked")),
        Err(e) if nul.is_none_or(|n| e.valid_up_to() < n) => {
            let at = e.valid_up_to();
            let (line, col) = line_col(&bytes, at);
            Err(ReadError::NotUtf8 {
                line,
                col,
                byte: bytes[at],
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        }
        _ => {
            let (line, col) = line_col(&bytes, nul.expect("a NUL byte"));
            Err(ReadError::Binary {
                line,
                col,
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        }
    }
}

/// Read a regular file of at most `limit` bytes. The file is opened without blocking (a FIFO
/// put in its place opens at once) and its type checked on the open handle, so a swap between
/// a check and the open cannot get a device read.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::NotFound,
            std::io::ErrorKind::IsADirectory => ReadError::Directory,
            _ => ReadError::Io(e),
        })?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if let Some(e) = not_regular(&meta) {
        return Err(e);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // One byte more than allowed tells a file that grew while being read.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Why a file with this metadata cannot be read as one, if it is not a regular file.
pub fn not_regular(meta: &std::fs::Metadata) -> Option<ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    Some(if kind.is_dir() {
        ReadError::Directory
    } else {
        ReadError::Special(if kind.is_fifo() {
            "named pipe (FIFO)"
        } else if kind.is_char_device() {
            "character device"
        } else if kind.is_block_device() {
            "block device"
        } else if kind.is_socket() {
            "socket"
        } else {
            "special file"
        })
    })
}

/// 1-based line and column (in characters) of byte `at`.
fn line_col(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line as u32, col as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_text_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        std::fs::write(p("ok.md"), "# hello\n").unwrap();
        assert_eq!(read_text(&p("ok.md"), 100).unwrap(), "# hello\n");
        assert!(matches!(
            read_text(&p("nope"), 100),
            Err(ReadError::NotFound)
        ));
        assert!(matches!(
            read_text(dir.path(), 100),
            Err(ReadError::Directory)
        ));
        std::os::unix::fs::symlink("/dev/zero", p("zero")).unwrap();
        let e = read_text(&p("zero"), 100).unwrap_err();
        assert_eq!(e.to_string(), "is a character device, not a regular file");
        let fifo = std::ffi::CString::new(p("fifo").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = read_text(&p("fifo"), 100).unwrap_err();
        assert_eq!(e.to_string(), "is a named pipe (FIFO), not a regular file");
        std::fs::write(p("big"), vec![b'a'; 3 * MIB as usize]).unwrap();
        let e = read_text(&p("big"), 2 * MIB).unwrap_err();
        assert_eq!(e.to_string(), "is larger than 2 MiB");
    }

    #[test]
    fn locates_invalid_utf8_and_nul_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"a: 1\nb: \xc3\xa9\xff\n").unwrap();
        let e = read_text(&p, 100).unwrap_err();
        assert_eq!(e.to_string(), "is not UTF-8 text (byte 0xff)");
        assert_eq!(e.place(Path::new("f")), "f:2:5");
        std::fs::write(&p, b"a: 1\n\x00\xff").unwrap();
        let e = read_text(&p, 100).unwrap_err();
        assert_eq!(e.to_string(), "is binary, not text (a NUL byte)");
        assert_eq!(e.place(Path::new("f")), "f:2:1");
    }
}
