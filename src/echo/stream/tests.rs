//! RELIABILITY 1 without sockets: both loops over I/O that returns short reads and writes
//! and `Interrupted` at random.

use std::collections::VecDeque;

use super::*;

/// xorshift64: deterministic pseudo-random numbers.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `1..=max`.
    fn up_to(&mut self, max: usize) -> usize {
        1 + (self.next() % max as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A stream whose every call moves at most a few bytes, or fails with `Interrupted`.
///
/// As a server's peer, it yields `input` then end-of-stream and records what is written.
/// As a client's peer (`echoing`), what is written comes back to be read.
struct Stingy {
    rng: Xorshift,
    input: VecDeque<u8>,
    output: Vec<u8>,
    echoing: bool,
    max_chunk: usize,
    interrupts: usize,
}

impl Stingy {
    fn new(seed: u64, input: &[u8], echoing: bool) -> Self {
        Stingy {
            rng: Xorshift(seed),
            input: input.iter().copied().collect(),
            output: Vec::new(),
            echoing,
            max_chunk: 777,
            interrupts: 0,
        }
    }

    fn interrupted(&mut self) -> bool {
        let now = self.rng.next().is_multiple_of(4);
        self.interrupts += usize::from(now);
        now
    }
}

impl Read for Stingy {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.interrupted() {
            return Err(ErrorKind::Interrupted.into());
        }
        if self.input.is_empty() && self.echoing {
            // A real peer would block here forever: the loop read with nothing in flight.
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = self
            .rng
            .up_to(self.max_chunk)
            .min(buf.len())
            .min(self.input.len());
        for (slot, byte) in buf.iter_mut().zip(self.input.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl SetTimeouts for Stingy {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

impl Write for Stingy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.interrupted() {
            return Err(ErrorKind::Interrupted.into());
        }
        let n = self.rng.up_to(self.max_chunk).min(buf.len());
        if self.echoing {
            self.input.extend(&buf[..n]);
        } else {
            self.output.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peer() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 7))
}

#[test]
fn serve_connection_echoes_everything_through_short_io() {
    for (seed, len) in [(1, 0), (2, 1), (3, 1000), (4, 100_000), (5, 1 << 20)] {
        let message = Xorshift(seed).bytes(len);
        let mut stream = Stingy::new(seed, &message, false);
        let options = Options::new().with_buffer_size(4096);
        let (total, first) = serve_connection(&mut stream, &peer(), &options).unwrap();
        assert_eq!(total, len as u64);
        assert!(stream.output == message, "echo of {len} bytes differs");
        assert!(message.starts_with(&first));
        assert_eq!(first.is_empty(), len == 0);
        assert!(len < 100_000 || stream.interrupts > 0);
    }
}

#[test]
fn echo_round_trips_through_short_io() {
    for (seed, len) in [(6, 0), (7, 1), (8, 1000), (9, 100_000), (10, 1 << 20)] {
        let message = Xorshift(seed).bytes(len);
        for window in [1, 1024, 64 * 1024] {
            let mut stream = Stingy::new(seed, &[], true);
            let reply = echo(&mut stream, &peer(), &message, &Options::new(), window).unwrap();
            assert!(
                reply == message,
                "echo of {len} bytes (window {window}) differs"
            );
            assert!(stream.input.is_empty(), "bytes left unread");
        }
    }
}

#[test]
fn echo_reports_a_difference_at_its_offset() {
    struct Corrupting(Stingy, usize);
    impl Read for Corrupting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl SetTimeouts for Corrupting {
        fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
            Ok(())
        }
        fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
            Ok(())
        }
    }
    impl Write for Corrupting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let before = self.0.input.len();
            let n = self.0.write(buf)?;
            // Corrupt the byte at absolute offset `self.1` as it goes through.
            if let Some(index) = self.1.checked_sub(self.0.output.len())
                && index < n
            {
                self.0.input[before + index] ^= 0xFF;
            }
            self.0.output.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let message = Xorshift(11).bytes(50_000);
    let mut stream = Corrupting(Stingy::new(11, &[], true), 31_337);
    match echo(&mut stream, &peer(), &message, &Options::new(), 4096) {
        Err(Error::Mismatch { offset, sent, .. }) => {
            assert_eq!((offset, sent), (31_337, 50_000))
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
}

#[test]
fn echo_reports_a_short_echo_at_end_of_stream() {
    let message = Xorshift(12).bytes(3000);
    // A peer that has already answered 1024 bytes and closed; writes still succeed.
    let mut stream = Stingy::new(12, &message[..1024], false);
    match echo(&mut stream, &peer(), &message, &Options::new(), 64 * 1024) {
        Err(Error::ShortEcho { sent, received, .. }) => {
            assert_eq!((sent, received), (3000, 1024))
        }
        other => panic!("expected ShortEcho, got {other:?}"),
    }
}

#[test]
fn first_difference_finds_the_first_differing_byte() {
    assert_eq!(first_difference(b"", b""), None);
    assert_eq!(first_difference(b"abc", b"abc"), None);
    assert_eq!(first_difference(b"abc", b"abd"), Some(2));
    assert_eq!(first_difference(b"xbc", b"abc"), Some(0));
    assert_eq!(first_difference(b"ab", b"abc"), Some(2));
}
