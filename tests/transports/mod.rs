//! One definition of a test, run over every transport and address family.
//!
//! This is the one way the tests run a suite over the transports. A generic test is a function
//! `fn name<T: StreamKind>(site: &Site<T>)` (or `DatagramKind`, or `Kind` for every
//! transport). The macros [`over_all!`], [`over_streams!`] and [`over_datagrams!`] turn it
//! into a module `name` with one `#[test]` per place it applies to: `tcp_v4`, `tcp_v6`,
//! `udp_v4`, `udp_v6`, `unix_path`, `unix_abstract`, `unixgram_path`, `unixgram_abstract`;
//! [`over_transports!`], [`over_stream_transports!`] and [`over_datagram_transports!`] run it
//! once per transport (TCP and UDP over IPv4, Unix sockets on an abstract name), for suites
//! whose subject is not the address (faults, measurements); [`instances!`] picks the places
//! by hand. A test for one place only takes a `Site` of its own (`Site::new`).
//!
//! A [`Site`] hands out fresh server addresses of its place: port 0 on the IPv4 or IPv6
//! loopback, a socket file in a directory of the test's own (unique by process id and a
//! counter, removed with everything in it when the test ends, even by a panic), or a Linux
//! abstract name no other test uses. The raw sockets a test needs to play a misbehaving
//! client or server are socket2 sockets for streams (the same calls for TCP and Unix) and
//! std sockets for datagrams, made by the functions of this module; so are plain servers
//! written here ([`echo_server`], [`stream_server`], [`datagram_server`]), the reference the
//! crate's clients and measurements are checked against.
//!
//! Needs `mod util;` beside it.
#![allow(dead_code)]

use std::fmt::Debug;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use socket_echo::{Tcp, ToAddrs, Transport, Udp, Unix, UnixAddr, UnixDatagram};
use socket2::{SockAddr, Socket, Type};

use crate::util::{self, GENEROUS};

#[allow(unused_imports)] // each test file uses only some of them
pub use crate::util::stream::{
    Ending, echo_once, is_reset, is_timeout, read_to_end_or_reset, round_trip_in_chunks,
};

/// Where a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `127.0.0.1`, port 0.
    V4,
    /// `::1`, port 0.
    V6,
    /// A socket file in the test's own temporary directory.
    Path,
    /// A Linux abstract name.
    Abstract,
}

impl Place {
    pub fn is_ip(self) -> bool {
        matches!(self, Place::V4 | Place::V6)
    }
}

/// The fresh addresses of one test at one [`Place`], and the directory of its socket files.
#[derive(Debug)]
pub struct Site<T> {
    /// The transport under test, to hand to `bind_on` and `connect_on`.
    pub transport: T,
    place: Place,
    name: &'static str,
    /// What makes this site's names its own: the process id and a counter.
    tag: String,
    dir: Option<PathBuf>,
    next: AtomicU64,
}

impl<T: Kind> Site<T> {
    /// A site of `transport` at `place`; `name` is the instance's test name (`tcp_v4`, ...).
    pub fn new(transport: T, place: Place, name: &'static str) -> Self {
        static SITES: AtomicU64 = AtomicU64::new(0);
        let tag = format!(
            "socket-echo-{}-{}",
            std::process::id(),
            SITES.fetch_add(1, Ordering::Relaxed)
        );
        let dir = (place == Place::Path).then(|| {
            let dir = std::env::temp_dir().join(&tag);
            // Left by an earlier run whose process had the same id.
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir(&dir).expect("create the test's socket directory");
            dir
        });
        Site {
            transport,
            place,
            name,
            tag,
            dir,
            next: AtomicU64::new(0),
        }
    }

    pub fn place(&self) -> Place {
        self.place
    }

    /// The instance's name, as in the test's path: `tcp_v4`, `unixgram_abstract`, ...
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The directory of this site's socket files, if its place is [`Place::Path`].
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// A fresh address as a caller writes it: `127.0.0.1:0`, `[::1]:0`, a path not yet
    /// taken, or `@` and an abstract name not yet taken.
    pub fn text(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match self.place {
            Place::V4 => "127.0.0.1:0".to_owned(),
            Place::V6 => "[::1]:0".to_owned(),
            Place::Path => self
                .dir
                .as_ref()
                .expect("a path site has a directory")
                .join(format!("{n}.sock"))
                .display()
                .to_string(),
            Place::Abstract => format!("@{}-{n}", self.tag),
        }
    }

    /// A fresh address, parsed by the crate's own [`ToAddrs`] from [`text`](Self::text).
    pub fn addr(&self) -> T::Addr {
        T::parse(&self.text())
    }
}

impl<T> Drop for Site<T> {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs `test` over `transport` at `place`, skipping IPv6 where the loopback has none.
pub fn run<T: Kind>(transport: T, place: Place, name: &'static str, test: impl FnOnce(&Site<T>)) {
    if place == Place::V6 && !util::ipv6_available() {
        eprintln!("skipped {name}: IPv6 loopback is unavailable");
        return;
    }
    let site = Site::new(transport, place, name);
    test(&site);
}

/// What the tests need to know of a transport beyond the public API.
pub trait Kind: Transport {
    /// The name errors give the transport: `"tcp"`, `"udp"`, `"unix"`, `"unixgram"`.
    const TRANSPORT: &'static str;
    /// The socket type of the transport.
    const TYPE: Type;

    /// The address `text` names, through the crate's own [`ToAddrs`].
    fn parse(text: &str) -> Self::Addr;

    /// socket2's form of an address.
    fn sock_addr(addr: &Self::Addr) -> SockAddr;

    /// The address a raw socket asked to bind to `asked` really has (the port, for IP).
    fn bound(socket: &Socket, asked: &Self::Addr) -> Self::Addr;

    /// A plain echo server of this transport written here: see [`echo_server`].
    fn echo_server(site: &Site<Self>) -> Self::Addr;
}

/// A stream transport: [`Tcp`] or [`Unix`]. Raw stream sockets are socket2 sockets.
pub trait StreamKind: Kind {}

/// A datagram transport: [`Udp`] or [`UnixDatagram`], with the std socket raw peers use.
pub trait DatagramKind: Kind {
    type Socket: AsFd + Debug + Send + Sync + From<Socket> + 'static;

    fn send_to(socket: &Self::Socket, buf: &[u8], to: &Self::Addr) -> io::Result<usize>;
    fn recv_from(socket: &Self::Socket, buf: &mut [u8]) -> io::Result<(usize, Self::Addr)>;
    fn addr_of(socket: &Self::Socket) -> Self::Addr;
}

fn parse<T: Transport>(text: &str) -> T::Addr
where
    str: ToAddrs<T>,
{
    let mut addrs = ToAddrs::<T>::to_addrs(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    addrs.remove(0)
}

fn ip_bound(socket: &Socket) -> SocketAddr {
    socket
        .local_addr()
        .expect("local address")
        .as_socket()
        .expect("an IP address")
}

fn unix_sock_addr(addr: &UnixAddr) -> SockAddr {
    if let Some(path) = addr.as_pathname() {
        SockAddr::unix(path).expect("a socket path")
    } else if let Some(name) = addr.as_abstract_name() {
        // An abstract name is written with a leading NUL byte.
        let mut bytes = vec![0];
        bytes.extend_from_slice(name);
        SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes)).expect("an abstract name")
    } else {
        panic!("an unnamed Unix address names no socket")
    }
}

impl Kind for Tcp {
    const TRANSPORT: &'static str = "tcp";
    const TYPE: Type = Type::STREAM;
    fn parse(text: &str) -> SocketAddr {
        parse::<Tcp>(text)
    }
    fn sock_addr(addr: &SocketAddr) -> SockAddr {
        SockAddr::from(*addr)
    }
    fn bound(socket: &Socket, _: &SocketAddr) -> SocketAddr {
        ip_bound(socket)
    }
    fn echo_server(site: &Site<Self>) -> Self::Addr {
        stream_server(site, echo_connection)
    }
}

impl Kind for Udp {
    const TRANSPORT: &'static str = "udp";
    const TYPE: Type = Type::DGRAM;
    fn parse(text: &str) -> SocketAddr {
        parse::<Udp>(text)
    }
    fn sock_addr(addr: &SocketAddr) -> SockAddr {
        SockAddr::from(*addr)
    }
    fn bound(socket: &Socket, _: &SocketAddr) -> SocketAddr {
        ip_bound(socket)
    }
    fn echo_server(site: &Site<Self>) -> Self::Addr {
        datagram_server(site, |datagram, _| vec![datagram.to_vec()])
    }
}

impl Kind for Unix {
    const TRANSPORT: &'static str = "unix";
    const TYPE: Type = Type::STREAM;
    fn parse(text: &str) -> UnixAddr {
        parse::<Unix>(text)
    }
    fn sock_addr(addr: &UnixAddr) -> SockAddr {
        unix_sock_addr(addr)
    }
    fn bound(_: &Socket, asked: &UnixAddr) -> UnixAddr {
        asked.clone()
    }
    fn echo_server(site: &Site<Self>) -> Self::Addr {
        stream_server(site, echo_connection)
    }
}

impl Kind for UnixDatagram {
    const TRANSPORT: &'static str = "unixgram";
    const TYPE: Type = Type::DGRAM;
    fn parse(text: &str) -> UnixAddr {
        parse::<UnixDatagram>(text)
    }
    fn sock_addr(addr: &UnixAddr) -> SockAddr {
        unix_sock_addr(addr)
    }
    fn bound(_: &Socket, asked: &UnixAddr) -> UnixAddr {
        asked.clone()
    }
    fn echo_server(site: &Site<Self>) -> Self::Addr {
        datagram_server(site, |datagram, _| vec![datagram.to_vec()])
    }
}

impl StreamKind for Tcp {}
impl StreamKind for Unix {}

impl DatagramKind for Udp {
    type Socket = UdpSocket;

    fn send_to(socket: &UdpSocket, buf: &[u8], to: &SocketAddr) -> io::Result<usize> {
        socket.send_to(buf, to)
    }
    fn recv_from(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        socket.recv_from(buf)
    }
    fn addr_of(socket: &UdpSocket) -> SocketAddr {
        socket.local_addr().expect("local address")
    }
}

impl DatagramKind for UnixDatagram {
    type Socket = StdUnixDatagram;

    fn send_to(socket: &StdUnixDatagram, buf: &[u8], to: &UnixAddr) -> io::Result<usize> {
        socket.send_to_addr(buf, to.as_std())
    }
    fn recv_from(socket: &StdUnixDatagram, buf: &mut [u8]) -> io::Result<(usize, UnixAddr)> {
        socket
            .recv_from(buf)
            .map(|(n, from)| (n, UnixAddr::from(from)))
    }
    fn addr_of(socket: &StdUnixDatagram) -> UnixAddr {
        UnixAddr::from(socket.local_addr().expect("local address"))
    }
}

/// A new raw socket of `T`'s type and `addr`'s domain.
fn raw_socket<T: Kind>(addr: &SockAddr) -> Socket {
    Socket::new(addr.domain(), T::TYPE, None).expect("create a raw socket")
}

/// A raw stream client connected to `addr`, with read and write timeouts of [`GENEROUS`],
/// so no test can hang on it.
pub fn connect<T: StreamKind>(addr: &T::Addr) -> Socket {
    connect_tuned::<T>(addr, |_| {})
}

/// [`connect`], with `tune` applied to the socket before it connects.
pub fn connect_tuned<T: StreamKind>(addr: &T::Addr, tune: impl FnOnce(&Socket)) -> Socket {
    try_connect::<T>(addr, tune).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// [`connect_tuned`], returning the error of `connect`.
pub fn try_connect<T: Kind>(addr: &T::Addr, tune: impl FnOnce(&Socket)) -> io::Result<Socket> {
    let target = T::sock_addr(addr);
    let socket = raw_socket::<T>(&target);
    tune(&socket);
    socket.set_read_timeout(Some(GENEROUS))?;
    socket.set_write_timeout(Some(GENEROUS))?;
    socket.connect(&target)?;
    Ok(socket)
}

/// A raw listener at a fresh address of `site`, and that address.
pub fn listen<T: StreamKind>(site: &Site<T>) -> (Socket, T::Addr) {
    listen_queue(site, 16)
}

/// [`listen`], with an accept queue of `backlog`.
fn listen_queue<T: StreamKind>(site: &Site<T>, backlog: i32) -> (Socket, T::Addr) {
    let asked = site.addr();
    let target = T::sock_addr(&asked);
    let socket = raw_socket::<T>(&target);
    socket.bind(&target).expect("bind a raw listener");
    socket.listen(backlog).expect("listen");
    let bound = T::bound(&socket, &asked);
    (socket, bound)
}

/// A raw datagram socket bound to a fresh address of `site` (so a server can answer it),
/// waiting at most [`GENEROUS`] for a datagram.
pub fn datagram<T: DatagramKind>(site: &Site<T>) -> T::Socket {
    datagram_waiting(site, GENEROUS)
}

/// [`datagram`], waiting at most `read_timeout`.
pub fn datagram_waiting<T: DatagramKind>(site: &Site<T>, read_timeout: Duration) -> T::Socket {
    let target = T::sock_addr(&site.addr());
    let socket = raw_socket::<T>(&target);
    socket.bind(&target).expect("bind a raw datagram socket");
    socket.set_read_timeout(Some(read_timeout)).unwrap();
    T::Socket::from(socket)
}

/// An address where nothing serves any more: a raw socket was bound there and closed (a
/// freed port, a stale socket file, a released abstract name).
pub fn nothing_at<T: Kind>(site: &Site<T>) -> T::Addr {
    let asked = site.addr();
    let target = T::sock_addr(&asked);
    let socket = raw_socket::<T>(&target);
    socket.bind(&target).expect("bind");
    T::bound(&socket, &asked)
}

/// A plain stream server written here, at a fresh address of `site`: each connection it
/// accepts is given to `handle` on a thread of its own. It runs until the test process ends.
pub fn stream_server<T: StreamKind>(
    site: &Site<T>,
    handle: impl Fn(Socket) + Send + Sync + 'static,
) -> T::Addr {
    // A queue as long as the crate's servers have: a Unix stream connect is refused at
    // once, not retried, when the queue is full, and a load opens many at once.
    let (listener, addr) = listen_queue(site, 1024);
    let handle = Arc::new(handle);
    thread::spawn(move || {
        while let Ok((conn, _)) = listener.accept() {
            let handle = Arc::clone(&handle);
            thread::spawn(move || handle(conn));
        }
    });
    addr
}

/// A plain datagram server written here, at a fresh address of `site`: it answers each
/// datagram with those `reply` makes of it and of its source (none, one, or more), until it
/// has heard nothing for [`GENEROUS`].
pub fn datagram_server<T: DatagramKind>(
    site: &Site<T>,
    mut reply: impl FnMut(&[u8], &T::Addr) -> Vec<Vec<u8>> + Send + 'static,
) -> T::Addr {
    let socket = datagram(site);
    let addr = T::addr_of(&socket);
    thread::spawn(move || {
        let mut buffer = vec![0; 65536];
        while let Ok((n, peer)) = T::recv_from(&socket, &mut buffer) {
            for datagram in reply(&buffer[..n], &peer) {
                let _ = T::send_to(&socket, &datagram, &peer);
            }
        }
    });
    addr
}

/// Echoes a connection back until its peer closes it (or it fails).
pub fn echo_connection(mut conn: Socket) {
    let mut buffer = [0u8; 65536];
    loop {
        match conn.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

/// A plain echo server written here (not the crate's), of `site`'s transport: the reference
/// the crate's clients and measurements are checked against.
pub fn echo_server<T: Kind>(site: &Site<T>) -> T::Addr {
    T::echo_server(site)
}

/// Whether `T` is a datagram transport.
pub fn is_datagram<T: Kind>() -> bool {
    T::TYPE == Type::DGRAM
}

/// Generates a module `$name` holding one `#[test]` per listed instance of the generic test
/// function `$name`: any of `tcp_v4`, `tcp_v6`, `udp_v4`, `udp_v6`, `unix_path`,
/// `unix_abstract`, `unixgram_path`, `unixgram_abstract`.
#[macro_export]
macro_rules! instances {
    ($name:ident: $($instance:ident),+ $(,)?) => {
        mod $name {
            $( $crate::instance!($name, $instance); )+
        }
    };
}

/// One `#[test]` of [`instances!`].
#[macro_export]
macro_rules! instance {
    ($name:ident, tcp_v4) => {
        $crate::instance!(@test $name, tcp_v4, socket_echo::Tcp, V4);
    };
    ($name:ident, tcp_v6) => {
        $crate::instance!(@test $name, tcp_v6, socket_echo::Tcp, V6);
    };
    ($name:ident, udp_v4) => {
        $crate::instance!(@test $name, udp_v4, socket_echo::Udp, V4);
    };
    ($name:ident, udp_v6) => {
        $crate::instance!(@test $name, udp_v6, socket_echo::Udp, V6);
    };
    ($name:ident, unix_path) => {
        $crate::instance!(@test $name, unix_path, socket_echo::Unix, Path);
    };
    ($name:ident, unix_abstract) => {
        #[cfg(target_os = "linux")]
        $crate::instance!(@test $name, unix_abstract, socket_echo::Unix, Abstract);
    };
    ($name:ident, unixgram_path) => {
        $crate::instance!(@test $name, unixgram_path, socket_echo::UnixDatagram, Path);
    };
    ($name:ident, unixgram_abstract) => {
        #[cfg(target_os = "linux")]
        $crate::instance!(@test $name, unixgram_abstract, socket_echo::UnixDatagram, Abstract);
    };
    (@test $name:ident, $instance:ident, $transport:expr, $place:ident) => {
        #[test]
        fn $instance() {
            $crate::transports::run(
                $transport,
                $crate::transports::Place::$place,
                stringify!($instance),
                super::$name,
            );
        }
    };
}

/// Each listed generic test over the stream transports: TCP over IPv4 and IPv6, Unix
/// streams on a socket file and an abstract name.
#[macro_export]
macro_rules! over_streams {
    ($($name:ident),* $(,)?) => {
        $( $crate::instances!($name: tcp_v4, tcp_v6, unix_path, unix_abstract); )*
    };
}

/// Each listed generic test over the datagram transports: UDP over IPv4 and IPv6, Unix
/// datagrams on a socket file and an abstract name.
#[macro_export]
macro_rules! over_datagrams {
    ($($name:ident),* $(,)?) => {
        $( $crate::instances!($name: udp_v4, udp_v6, unixgram_path, unixgram_abstract); )*
    };
}

/// Each listed generic test over all four transports, at each of their places.
#[macro_export]
macro_rules! over_all {
    ($($name:ident),* $(,)?) => {
        $(
            $crate::instances!(
                $name: tcp_v4, tcp_v6, udp_v4, udp_v6,
                unix_path, unix_abstract, unixgram_path, unixgram_abstract
            );
        )*
    };
}

/// Each listed generic test once per stream transport, at one place each: TCP over IPv4 and
/// Unix streams on an abstract name; for suites whose subject is not the address family or
/// the socket file (faults, measurements).
#[macro_export]
macro_rules! over_stream_transports {
    ($($name:ident),* $(,)?) => {
        $( $crate::instances!($name: tcp_v4, unix_abstract); )*
    };
}

/// Each listed generic test once per datagram transport, at one place each: UDP over IPv4
/// and Unix datagrams on an abstract name.
#[macro_export]
macro_rules! over_datagram_transports {
    ($($name:ident),* $(,)?) => {
        $( $crate::instances!($name: udp_v4, unixgram_abstract); )*
    };
}

/// Each listed generic test once per transport, at one place each: TCP and UDP over IPv4,
/// Unix streams and datagrams on an abstract name.
#[macro_export]
macro_rules! over_transports {
    ($($name:ident),* $(,)?) => {
        $( $crate::instances!($name: tcp_v4, udp_v4, unix_abstract, unixgram_abstract); )*
    };
}
