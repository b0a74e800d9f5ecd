//! A fresh private directory for Unix socket files, removed with everything in it when
//! dropped.

use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many names [`SocketDir::new`] tries before it gives up.
const ATTEMPTS: u32 = 100;

/// A directory of its own under [`std::env::temp_dir`], named after this process and a
/// counter, readable by its owner only; removed (with the socket files in it) on drop.
#[derive(Debug)]
pub struct SocketDir {
    path: PathBuf,
}

impl SocketDir {
    /// Creates `<temp dir>/socket-echo-bench-<pid>-<n>`, with the first `n` from this process's
    /// counter whose directory does not exist yet.
    ///
    /// # Errors
    ///
    /// The directory could not be created.
    pub fn new() -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("socket-echo-bench-{pid}-{n}"));
            // `create`, never `create_all`: a directory that already exists (left by an
            // earlier process with the same pid) is someone else's, not reused.
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(SocketDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no name left for a socket directory")))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of file `name` in the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_is_fresh_and_goes_when_dropped() {
        let a = SocketDir::new().unwrap();
        let b = SocketDir::new().unwrap();
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir());
        fs::write(a.join("file"), b"x").unwrap();
        let path = a.path().to_path_buf();
        drop(a);
        assert!(!path.exists());
        assert!(b.path().is_dir());
    }
}
