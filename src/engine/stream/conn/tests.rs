//! The echo of one connection over a transport that keeps what it writes in buffers of its
//! own until flushed, as a TLS session keeps its records: the engine writes it out before it
//! waits, and before a clean end.

use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::sync::{Mutex, PoisonError};

use super::{Conn, Drive, drive};
use crate::addr::Address;
use crate::stats::Counters;
use crate::transport::sealed::{Connection, socket_without_descriptor};

/// A wrapping connection with no socket: its input, what it holds, what its socket took.
#[derive(Debug, Default)]
struct Wrapped {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    input: VecDeque<u8>,
    eof: bool,
    /// Written, not flushed yet (a session's records).
    held: Vec<u8>,
    /// Flushed: what the peer gets.
    out: Vec<u8>,
    /// How many more bytes the socket takes before it would block.
    room: usize,
    /// What was still held when the write side was shut, if it was.
    held_at_shutdown: Option<usize>,
    /// Whether the end came with the last bytes, in one read of the socket (a TLS
    /// `close_notify` read with them): no edge of readiness would come for it.
    end_held: bool,
}

impl Wrapped {
    fn new(input: &[u8], eof: bool, room: usize) -> Self {
        Wrapped {
            state: Mutex::new(State {
                input: input.iter().copied().collect(),
                eof,
                room,
                ..State::default()
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

socket_without_descriptor!(Wrapped);

impl Connection for Wrapped {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state();
        if state.input.is_empty() {
            return if state.eof {
                Ok(0)
            } else {
                Err(ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(state.input.len());
        for (slot, byte) in buf.iter_mut().zip(state.input.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    /// Takes everything, as a session takes plaintext into records.
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.state().held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn shutdown_write(&self) -> io::Result<()> {
        let mut state = self.state();
        state.held_at_shutdown = Some(state.held.len());
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        let mut state = self.state();
        let n = state.room.min(state.held.len());
        let moved: Vec<u8> = state.held.drain(..n).collect();
        state.out.extend_from_slice(&moved);
        state.room -= n;
        if state.held.is_empty() {
            Ok(())
        } else {
            Err(ErrorKind::WouldBlock.into())
        }
    }

    fn wants_write(&self) -> bool {
        !self.state().held.is_empty()
    }

    fn holds_unread(&self) -> bool {
        let state = self.state();
        state.end_held && state.eof && state.input.is_empty()
    }

    fn unread(&self) -> io::Result<usize> {
        Ok(self.state().input.len())
    }

    fn reset(&self) -> io::Result<()> {
        Ok(())
    }

    fn peer_addr(&self) -> io::Result<Address> {
        Err(ErrorKind::Unsupported.into())
    }

    fn recv_buffer_size(&self) -> io::Result<usize> {
        Ok(64 * 1024)
    }
}

fn conn(stream: Wrapped) -> Conn<Wrapped> {
    Conn {
        stream,
        pending: None,
        last_active: 0,
    }
}

#[test]
fn what_the_transport_holds_is_flushed_before_waiting_after_a_short_read() {
    let mut conn = conn(Wrapped::new(b"hello", false, usize::MAX));
    let counters = Counters::default();
    let mut scratch = [0u8; 1024];
    let driven = drive(&mut conn, &mut scratch, &counters, 1, true, |_| {});
    assert!(matches!(driven, Drive::Wait));
    let state = conn.stream.state();
    assert_eq!(
        state.out, b"hello",
        "the echo was left in the transport's buffers"
    );
    assert!(state.held.is_empty());
}

#[test]
fn the_end_of_stream_waits_until_what_the_transport_holds_is_written_out() {
    // The socket takes one byte, then would block until it is writable again.
    let mut conn = conn(Wrapped::new(b"abc", true, 1));
    let counters = Counters::default();
    let mut scratch = [0u8; 1024];
    let driven = drive(&mut conn, &mut scratch, &counters, 1, false, |_| {});
    assert!(
        matches!(driven, Drive::Wait),
        "the connection must wait to write"
    );
    {
        let mut state = conn.stream.state();
        assert_eq!(state.out, b"a");
        assert_eq!(state.held_at_shutdown, None, "shut with bytes still held");
        // Writable again.
        state.room = 16;
    }
    assert!(conn.stream.wants_write());
    let driven = drive(&mut conn, &mut scratch, &counters, 2, false, |_| {});
    assert!(matches!(driven, Drive::Finished));
    let state = conn.stream.state();
    assert_eq!(state.out, b"abc");
    assert_eq!(state.held_at_shutdown, Some(0));
}

#[test]
fn an_end_the_transport_holds_after_a_short_read_is_read_at_once() {
    let wrapped = Wrapped::new(b"bye", true, usize::MAX);
    wrapped.state().end_held = true;
    let mut conn = conn(wrapped);
    let counters = Counters::default();
    let mut scratch = [0u8; 1024];
    // The event did not report the end (it came inside the transport's bytes): a short
    // read would otherwise be taken to have left nothing.
    let driven = drive(&mut conn, &mut scratch, &counters, 1, true, |_| {});
    assert!(
        matches!(driven, Drive::Finished),
        "the end the transport held was left unread, waiting for an edge that never comes"
    );
    let state = conn.stream.state();
    assert_eq!(state.out, b"bye");
    assert_eq!(state.held_at_shutdown, Some(0));
}
