//! The HTTP/1.1 the control endpoint speaks: one request per connection, read under one
//! deadline and two caps (the head, the body) and parsed by `httparse`; one response, and
//! the connection is closed.
//!
//! A request that does not arrive whole within [`DEADLINE`] (a client that sends a byte a
//! second) gets a 408, a head over [`HEAD_CAP`] a 431, a body declared over [`BODY_CAP`] a
//! 413 before any of it is read: no client holds a thread or memory past those bounds.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The longest a request may take to arrive whole, head and body.
pub const DEADLINE: Duration = Duration::from_secs(5);
/// The most bytes of a request line and headers.
pub const HEAD_CAP: usize = 8 * 1024;
/// The most bytes of a body (SPECs are a few dozen bytes each).
pub const BODY_CAP: usize = 16 * 1024;
/// The most headers a request may have.
const MAX_HEADERS: usize = 32;
/// How long the connection is read and discarded after the response, so that closing it
/// with a request still unread does not reset it before the client reads the answer.
const LINGER: Duration = Duration::from_secs(1);
/// The most bytes read and discarded then.
const LINGER_BYTES: usize = 64 * 1024;

/// A connection of either kind the endpoint listens on.
pub trait Conn: Read + Write {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn shutdown_write(&self) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Conn for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// A request, read whole.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's parameters, decoded.
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response: a status, a body and its type.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// The methods a route takes, sent with a 405.
    pub allow: Option<&'static str>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: String) -> Self {
        Response {
            status,
            content_type,
            body,
            allow: None,
        }
    }

    /// A JSON body.
    pub fn json(status: u16, body: &impl serde::Serialize) -> Self {
        let mut text = serde_json::to_string(body).unwrap_or_default();
        text.push('\n');
        Response::new(status, "application/json", text)
    }

    /// An error: `{"error": "..."}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Response::json(status, &serde_json::json!({ "error": message.into() }))
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum Unread {
    /// The client is owed this answer (a 4xx).
    Answer(Response),
    /// The client went away, or the connection failed: nobody to answer.
    Gone,
}

/// Reads one request from `conn` within [`DEADLINE`] of `start`.
pub fn read_request(conn: &mut impl Conn, start: Instant) -> Result<Request, Unread> {
    let deadline = start + DEADLINE;
    let mut buf = vec![0u8; HEAD_CAP];
    let mut len = 0;
    let (head_len, request, expects_continue) = loop {
        if len == buf.len() {
            return Err(answer(431, "the request line and headers are over 8 KiB"));
        }
        len += read_some(conn, &mut buf[len..], deadline)?;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(head_len)) => {
                let expects = parsed.headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("expect")
                        && h.value.eq_ignore_ascii_case(b"100-continue")
                });
                break (head_len, head(&parsed)?, expects);
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(answer(431, format!("more than {MAX_HEADERS} headers")));
            }
            Err(error) => return Err(answer(400, format!("not an HTTP request: {error}"))),
        }
    };
    let (mut request, length) = request;
    if length > BODY_CAP {
        return Err(answer(
            413,
            format!("a body of {length} bytes: the most taken is {BODY_CAP}"),
        ));
    }
    if expects_continue && length > len - head_len {
        write_all(conn, b"HTTP/1.1 100 Continue\r\n\r\n", deadline)?;
    }
    let mut body = buf[head_len..len.min(head_len + length)].to_vec();
    if body.len() < length {
        body.resize(length, 0);
        let mut have = len - head_len;
        while have < length {
            have += read_some(conn, &mut body[have..], deadline)?;
        }
    }
    request.body = body;
    Ok(request)
}

/// The method, path and query of a parsed head, and the length of its body.
fn head(parsed: &httparse::Request<'_, '_>) -> Result<(Request, usize), Unread> {
    let method = parsed.method.unwrap_or_default().to_owned();
    let target = parsed.path.unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut length = 0;
    for header in parsed.headers.iter() {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(answer(
                411,
                "send the body with a Content-Length: chunked bodies are not taken",
            ));
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(header.value)
                .ok()
                .and_then(|value| value.trim().parse::<usize>().ok())
                .ok_or_else(|| answer(400, "Content-Length is not a number"))?;
        }
    }
    let request = Request {
        method,
        path: path.to_owned(),
        query,
        body: Vec::new(),
    };
    Ok((request, length))
}

fn answer(status: u16, message: impl Into<String>) -> Unread {
    Unread::Answer(Response::error(status, message))
}

/// Reads at least one byte before `deadline`: a 408 once it passes, `Gone` at the end of
/// the stream or on an error.
fn read_some(conn: &mut impl Conn, buf: &mut [u8], deadline: Instant) -> Result<usize, Unread> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(answer(408, "the request did not arrive whole in time"));
        }
        conn.set_read_timeout(Some(left))
            .map_err(|_| Unread::Gone)?;
        match conn.read(buf) {
            Ok(0) => return Err(Unread::Gone),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Err(Unread::Gone),
        }
    }
}

fn write_all(conn: &mut impl Conn, bytes: &[u8], deadline: Instant) -> Result<(), Unread> {
    // Writing gets at least a second even past the request's deadline: the answer is small.
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    conn.set_write_timeout(Some(left))
        .and_then(|()| conn.write_all(bytes))
        .and_then(|()| conn.flush())
        .map_err(|_| Unread::Gone)
}

/// Writes `response`, then closes the connection: the write side at once, the read side
/// once the client has closed (or after a short linger).
pub fn respond(conn: &mut impl Conn, response: &Response) {
    if write_all(conn, &response_bytes(response), Instant::now()).is_err() {
        return;
    }
    let _ = conn.shutdown_write();
    let end = Instant::now() + LINGER;
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    while drained < LINGER_BYTES {
        match read_some(conn, &mut scratch, end) {
            Ok(n) => drained += n,
            Err(_) => break,
        }
    }
}

/// Writes `response` with a short timeout and closes the connection, not waiting for the
/// client: for the accept loop, which must not be held by any client.
pub fn respond_at_once(conn: &mut impl Conn, response: &Response) {
    let _ = conn.set_write_timeout(Some(Duration::from_millis(100)));
    let _ = conn.write_all(&response_bytes(response));
}

/// The status line, headers and body of `response`.
fn response_bytes(response: &Response) -> Vec<u8> {
    let reason = reason(response.status);
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if let Some(allow) = response.allow {
        head.push_str(&format!("Allow: {allow}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(response.body.as_bytes());
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}
