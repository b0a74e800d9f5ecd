//! Standard output whose reader may go away (`socket-echo serve | head -2`).
//!
//! `println!` panics when the write fails, which would end a server because its log reader
//! stopped reading. Here a failed write is reported once on standard error, and nothing more
//! is written to standard output; the caller decides whether to go on (a server does).

use std::fmt::Display;
use std::io::{self, Write};

/// Standard output, written line by line, until a write fails.
#[derive(Debug, Default)]
pub struct Out {
    closed: bool,
}

impl Out {
    pub fn new() -> Self {
        Out::default()
    }

    /// Writes `text` and a newline. False once standard output is closed (or broken).
    pub fn line(&mut self, text: impl Display) -> bool {
        self.write(format_args!("{text}\n"))
    }

    /// Writes `text` as it is, flushed. False once standard output is closed.
    pub fn write(&mut self, text: impl Display) -> bool {
        if self.closed {
            return false;
        }
        let mut stdout = io::stdout().lock();
        if let Err(error) = write!(stdout, "{text}").and_then(|()| stdout.flush()) {
            self.closed = true;
            log::warn!("standard output is closed ({error}): nothing more is printed there");
        }
        !self.closed
    }
}
