//! Helpers for a raw stream client, over any stream a test holds: a `TcpStream`, a socket2
//! `Socket` for TCP or Unix, or a reference to either.

use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::thread;

use socket2::Socket;

use super::Rng;

/// Sends `message` and reads exactly as many bytes back; panics if they differ.
pub fn echo_once(mut stream: impl Read + Write, message: &[u8]) {
    stream.write_all(message).expect("write");
    let mut back = vec![0; message.len()];
    stream.read_exact(&mut back).expect("read echo");
    assert!(back == message, "echo differs from what was sent");
}

/// How a stream ended when read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Eof,
    Reset,
    TooMuch,
    Other(ErrorKind),
}

impl Ending {
    /// True if the server closed the connection (cleanly or not).
    pub fn closed(self) -> bool {
        matches!(self, Ending::Eof | Ending::Reset)
    }
}

/// True for the errors of a connection the peer reset or closed under a write.
pub fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// True for the errors of a socket timeout.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads until end-of-stream, a reset, or more than `limit` bytes; returns how many bytes
/// came and how the stream ended.
pub fn read_to_end_or_reset(mut stream: impl Read, limit: usize) -> (usize, Ending) {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    while total <= limit {
        match stream.read(&mut buf) {
            Ok(0) => return (total, Ending::Eof),
            Ok(n) => total += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if is_reset(&e) => return (total, Ending::Reset),
            Err(e) => return (total, Ending::Other(e.kind())),
        }
    }
    (total, Ending::TooMuch)
}

/// Writes `payload` in random chunks on one thread while this one reads in random chunks,
/// then half-closes and reads to end-of-stream; panics on the first differing byte.
pub fn round_trip_in_chunks(stream: impl Into<Socket>, payload: &[u8], seed: u64) {
    let stream: Socket = stream.into();
    let writer = stream.try_clone().expect("clone the stream");
    let mut rng = Rng::new(seed);
    let mut read_rng = Rng::new(seed ^ 0xFFFF);
    thread::scope(|scope| {
        scope.spawn(move || {
            let mut at = 0;
            while at < payload.len() {
                let n = rng.range(1, 256 * 1024).min(payload.len() - at);
                (&writer)
                    .write_all(&payload[at..at + n])
                    .expect("write chunk");
                at += n;
            }
            writer.shutdown(Shutdown::Write).expect("half-close");
        });
        let mut buf = vec![0; 256 * 1024];
        let mut at = 0;
        loop {
            let want = read_rng.range(1, buf.len());
            let n = (&stream).read(&mut buf[..want]).expect("read chunk");
            if n == 0 {
                break;
            }
            assert!(
                at + n <= payload.len(),
                "more bytes came back than were sent"
            );
            if buf[..n] != payload[at..at + n] {
                let offset = (0..n).find(|&i| buf[i] != payload[at + i]).unwrap();
                panic!("echo differs at byte {}", at + offset);
            }
            at += n;
        }
        assert_eq!(
            at,
            payload.len(),
            "end-of-stream before every byte came back"
        );
    });
}
