//! Unix stream sockets: a stream transport over `std::os::unix::net` sockets made through
//! socket2, with the socket-file rules both Unix transports share (a stale file is replaced, a
//! live server's path or a file that is not a socket is refused, the file is removed when the
//! server is dropped, only if it is still its own).

use std::ffi::OsStr;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use super::Transport;
use super::plain::{self, Plain};
use super::sealed::{
    ClientVisitor, ClientsVisitor, Connection, Kind, Listener, Sealed, ServerVisitor,
};
use crate::addr::UnixAddr;
use crate::error::{Error, Result};
use crate::options::Options;

/// The Unix stream transport: byte streams over a Unix-domain socket, echoed until the client
/// closes, as over [`Tcp`](crate::Tcp).
///
/// The address is a [`UnixAddr`]: a filesystem path, or on Linux an abstract name (`@name`
/// in text). Binding a path whose socket file is stale (no server accepts on it any more)
/// replaces the file; a live server's path is refused with [`Error::Bind`], and a path that
/// is not a socket is never removed. The server removes its socket file when it is dropped,
/// if the file is still its own.
///
/// # Examples
///
/// ```
/// use socket_echo::{EchoClient, EchoServer, Unix};
///
/// let path = std::env::temp_dir().join(format!("echo-doc-{}.sock", std::process::id()));
/// let server = EchoServer::bind_on(Unix, &path)?.spawn()?;
/// let mut client = EchoClient::connect_on(Unix, &path)?;
/// assert_eq!(&client.echo(b"over a socket file")?[..], b"over a socket file");
/// drop(client);
/// drop(server); // stops the server and removes the socket file
/// assert!(!path.exists());
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Unix;

impl Transport for Unix {
    type Addr = UnixAddr;
}

/// A bound Unix stream server socket, and its socket file.
#[derive(Debug)]
pub struct UnixServer {
    listener: UnixListener,
    _file: Option<SocketFile>,
}

impl AsFd for UnixServer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Plain for UnixServer {}
impl Plain for UnixStream {}

impl Sealed for Unix {
    const NAME: &'static str = "unix";
    const KIND: Kind = Kind::Stream;
    type Server = UnixServer;
    type Client = UnixStream;

    fn server_fd(server: &UnixServer) -> BorrowedFd<'_> {
        server.as_fd()
    }

    fn client_fd(client: &UnixStream) -> BorrowedFd<'_> {
        client.as_fd()
    }

    fn check(options: &Options) -> Result<()> {
        options.refuse_inapplicable(Self::NAME)
    }

    fn bind(addr: &UnixAddr, options: &Options) -> Result<UnixServer> {
        let (socket, file) = bind_socket(Self::NAME, Type::STREAM, addr, options, |socket| {
            let backlog = i32::try_from(options.backlog()).unwrap_or(i32::MAX);
            socket.listen(backlog)
        })?;
        Ok(UnixServer {
            listener: socket.into(),
            _file: file,
        })
    }

    fn local_addr(server: &UnixServer) -> io::Result<UnixAddr> {
        server.listener.local_addr().map(UnixAddr::from)
    }

    fn connect(addr: &UnixAddr, options: &Options) -> Result<UnixStream> {
        let connect_error = |source| Error::Connect {
            addr: addr.clone().into(),
            source,
        };
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None).map_err(connect_error)?;
        options.apply_buffers(&socket)?;
        let target = sock_addr(addr).map_err(connect_error)?;
        connect_within(&socket, &target, options.connect_timeout()).map_err(connect_error)?;
        // The send timeout was the connect's: the options' from now on.
        options.apply_timeouts(&socket)?;
        Ok(socket.into())
    }

    fn client_addr(client: &UnixStream) -> io::Result<UnixAddr> {
        client.local_addr().map(UnixAddr::from)
    }

    fn visit_server<V: ServerVisitor<Self>>(server: &UnixServer, visitor: V) -> V::Output {
        visitor.stream(server)
    }

    fn visit_owned<V: ServerVisitor<Self>>(server: UnixServer, visitor: V) -> V::Output {
        visitor.stream_owned(server)
    }

    fn visit_client<V: ClientVisitor<Self>>(client: &UnixStream, visitor: V) -> V::Output {
        visitor.stream(client)
    }

    fn visit_clients<'a, V: ClientsVisitor<'a, Self>>(
        clients: Vec<&'a UnixStream>,
        visitor: V,
    ) -> V::Output {
        visitor.stream(clients)
    }
}

/// The listener with its socket file, so that closing it (a server going down) leaves the
/// file in place (connects are refused, not told there is nothing there) and binding again
/// replaces it.
impl Listener for UnixServer {
    type Addr = UnixAddr;
    type Stream = UnixStream;

    fn accept(&self) -> io::Result<(UnixStream, UnixAddr)> {
        UnixListener::accept(&self.listener).map(|(stream, addr)| (stream, UnixAddr::from(addr)))
    }

    type Kept = ();

    fn keep(&self) {}

    fn bind_again((): &(), addr: &UnixAddr, options: &Options) -> Result<UnixServer> {
        Unix::bind(addr, options)
    }

    fn prepare(&self, stream: &UnixStream, options: &Options, blocking: bool) -> Result<()> {
        let socket = SockRef::from(stream);
        if blocking {
            options.apply_timeouts(&socket)
        } else {
            options.apply_served_connection_buffers(&socket)
        }
    }
}

/// Connects `socket` to `target`, waiting at most `limit` (`None`: without limit).
///
/// A Unix stream connect has no handshake to wait for, only room in the server's listen
/// queue. Linux answers a non-blocking connect to a full queue with "would block", not "in
/// progress", so there is no connect under way to poll for (socket2's `connect_timeout`
/// fails at once). A blocking connect waits for room, for at most the socket's send timeout:
/// that is set to `limit` for the connect, and the queue still full then is a timeout.
fn connect_within(socket: &Socket, target: &SockAddr, limit: Option<Duration>) -> io::Result<()> {
    socket.set_write_timeout(limit)?;
    loop {
        match socket.connect(target) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "the server's listen queue stayed full for the connect timeout",
                ));
            }
            connected => return connected,
        }
    }
}

impl Connection for UnixStream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stream: &UnixStream = self;
        Read::read(&mut stream, buf)
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut stream: &UnixStream = self;
        Write::write(&mut stream, buf)
    }

    fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut stream: &UnixStream = self;
        Write::write_vectored(&mut stream, bufs)
    }

    fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    plain::connection_by_descriptor!();
}

/// socket2's form of a Unix address.
pub(super) fn sock_addr(addr: &UnixAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        SockAddr::unix(path)
    } else if let Some(name) = addr.as_abstract_name() {
        // An abstract name is written with a leading NUL byte.
        let mut bytes = Vec::with_capacity(name.len() + 1);
        bytes.push(0);
        bytes.extend_from_slice(name);
        SockAddr::unix(OsStr::from_bytes(&bytes))
    } else {
        Err(io::Error::new(
            ErrorKind::InvalidInput,
            "an unnamed Unix socket address names no socket",
        ))
    }
}

/// Creates a Unix socket of `kind`, binds it to `addr` (replacing a stale socket file, never
/// a live server's or a file that is not a socket), sets the file's mode, then runs `ready`
/// (`listen`, for a stream socket) before anyone can use it.
pub(super) fn bind_socket(
    transport: &'static str,
    kind: Type,
    addr: &UnixAddr,
    options: &Options,
    ready: impl FnOnce(&Socket) -> io::Result<()>,
) -> Result<(Socket, Option<SocketFile>)> {
    let bind_error = |source| Error::Bind {
        transport,
        addr: addr.clone().into(),
        source,
    };
    let socket = Socket::new(Domain::UNIX, kind, None).map_err(bind_error)?;
    options.apply_buffers(&socket)?;
    let target = sock_addr(addr).map_err(bind_error)?;
    match socket.bind(&target) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AddrInUse => {
            let path = addr.as_pathname().ok_or_else(|| bind_error(e))?;
            if let Some(what) = not_a_socket(path) {
                // Still `AddrInUse` for code that branches on the kind, but the reason says
                // what is there, and that it is left alone.
                return Err(bind_error(io::Error::new(
                    ErrorKind::AddrInUse,
                    format!("the path is {what}, not a socket: it is left as it is"),
                )));
            }
            if !is_stale(path, kind) {
                return Err(bind_error(io::Error::from(ErrorKind::AddrInUse)));
            }
            fs::remove_file(path).map_err(bind_error)?;
            socket.bind(&target).map_err(bind_error)?;
        }
        Err(e) => return Err(bind_error(e)),
    }
    let file = match addr.as_pathname() {
        Some(path) => {
            let file = SocketFile::new(path).map_err(bind_error)?;
            if let Some(mode) = options.unix_mode() {
                fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| {
                    Error::SetOption {
                        option: "unix_mode",
                        source,
                    }
                })?;
            }
            Some(file)
        }
        None => None,
    };
    ready(&socket).map_err(bind_error)?;
    Ok((socket, file))
}

/// What stands at `path` if it is not a socket (`None` for a socket, or for nothing there).
fn not_a_socket(path: &Path) -> Option<&'static str> {
    let kind = fs::symlink_metadata(path).ok()?.file_type();
    let what = if kind.is_socket() {
        return None;
    } else if kind.is_file() {
        "a regular file"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a named pipe"
    } else {
        "a device or other special file"
    };
    Some(what)
}

/// Whether `path` is a socket file nobody serves any more: a socket, to which connecting is
/// refused. Anything else (a live server, a regular file, a directory) is not stale.
fn is_stale(path: &Path, kind: Type) -> bool {
    let is_socket = fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_socket());
    if !is_socket {
        return false;
    }
    let probe = Socket::new(Domain::UNIX, kind, None)
        .and_then(|probe| probe.connect(&SockAddr::unix(path)?));
    matches!(probe, Err(e) if e.kind() == ErrorKind::ConnectionRefused)
}

/// A socket file a server created, removed when the server is dropped if it is still the same
/// file (another server may have replaced it since).
#[derive(Debug)]
pub(super) struct SocketFile {
    path: PathBuf,
    device: u64,
    inode: u64,
}

impl SocketFile {
    /// Records the file now at `path`, just bound.
    pub(super) fn new(path: &Path) -> io::Result<Self> {
        let meta = fs::symlink_metadata(path)?;
        Ok(SocketFile {
            path: path.to_owned(),
            device: meta.dev(),
            inode: meta.ino(),
        })
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path).is_ok_and(|meta| {
            meta.file_type().is_socket() && meta.dev() == self.device && meta.ino() == self.inode
        });
        if ours {
            // Nothing to report to: a drop has no caller to tell, and a file left behind is
            // replaced as stale by the next bind.
            let _ = fs::remove_file(&self.path);
        }
    }
}
