//! RELIABILITY 37: the rules of Unix socket files, for Unix streams and Unix datagrams alike.
//! A stale socket file is replaced; a live server's path is refused and the live server
//! untouched; a path that is not a socket is refused and never removed; a server removes its
//! socket file when dropped, only if the file is still its own; the file's mode is the one
//! asked for. A datagram from an unnamed socket, or forged with the server's own address, is
//! never answered. Every address form a caller may write binds and connects.
//!
//! Each test runs in a directory of its own, removed when it ends.

mod serve_support;
mod transports;
mod util;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram as StdUnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serve_support::{finish, wait_for_stats};
use socket_echo::{
    EchoClient, EchoServer, Error, Options, ServerHandle, ToAddrs, UnixAddr, UnixDatagram,
};
use socket2::Type;
use transports::{Kind, Site};
use util::{assert_io_source, assert_names, serve_once_in_background};

/// A path in the site's directory.
fn path<T: Kind>(site: &Site<T>, name: &str) -> PathBuf {
    site.dir().expect("a path site").join(name)
}

/// The address of the socket file at `path`.
fn at<T: Kind>(path: &Path) -> T::Addr {
    T::parse(path.to_str().expect("a UTF-8 path"))
}

/// A server of `transport` at `path`, run by `serve()` in the background.
fn spawn<T: Kind>(transport: T, path: &Path, options: Options) -> ServerHandle<T> {
    EchoServer::bind_on_with(transport, at::<T>(path), options)
        .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()))
        .spawn()
        .expect("spawn")
}

/// One echo through the library's client: the server at `path` is serving.
fn assert_serves<T: Kind>(transport: T, path: &Path) {
    let mut client = EchoClient::connect_on(transport, at::<T>(path)).expect("connect");
    assert_eq!(&client.echo(b"served").unwrap()[..], b"served");
}

/// The inode of the socket file at `path`, asserting it is one.
fn socket_inode(path: &Path) -> u64 {
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        meta.file_type().is_socket(),
        "{} is not a socket",
        path.display()
    );
    meta.ino()
}

/// Leaves a socket file at `path` that no socket serves: std binds it, then closes it.
fn leave_stale_socket<T: Kind>(path: &Path) {
    if T::TYPE == Type::STREAM {
        drop(UnixListener::bind(path).unwrap());
    } else {
        drop(StdUnixDatagram::bind(path).unwrap());
    }
    socket_inode(path);
}

/// Asserts that binding `transport` at `path` is refused with `Bind`, `AddrInUse`, naming
/// the path.
fn assert_refused<T: Kind>(transport: T, path: &Path) {
    match EchoServer::bind_on(transport, at::<T>(path)) {
        Err(error @ Error::Bind { .. }) => {
            assert_io_source(&error, ErrorKind::AddrInUse);
            assert_names(&error, &path.display().to_string());
        }
        other => panic!("expected Bind for {}, got {other:?}", path.display()),
    }
}

/// Refused as [`assert_refused`], and the reason says what the path is rather than only
/// that the address is in use.
fn assert_refused_as_not_a_socket<T: Kind>(transport: T, path: &Path, what: &str) {
    assert_refused(transport, path);
    let Err(error) = EchoServer::bind_on(transport, at::<T>(path)) else {
        panic!("{} must be refused", path.display());
    };
    let source = std::error::Error::source(&error).map(ToString::to_string);
    let reason = source.unwrap_or_default();
    assert!(
        reason.contains(what) && reason.contains("not a socket"),
        "{}: the reason must say it is {what}, not a socket: {reason:?}",
        path.display()
    );
}

/// A socket file left by a server that is gone is replaced, and the new server serves.
fn a_stale_socket_file_is_replaced<T: Kind>(site: &Site<T>) {
    let path = path(site, "stale.sock");
    leave_stale_socket::<T>(&path);
    // Connecting to the stale file is refused: no socket is behind it.
    assert_eq!(
        transports::try_connect::<T>(&at::<T>(&path), |_| {})
            .unwrap_err()
            .kind(),
        ErrorKind::ConnectionRefused
    );
    let handle = spawn(site.transport, &path, Options::new());
    // (The new file may reuse the stale one's inode number: serving is the proof.)
    socket_inode(&path);
    assert_serves(site.transport, &path);
    finish(handle);
}

/// A live server's path is refused, whoever serves it (this crate, a plain std socket, a
/// server of the other kind), and the live server keeps its file and goes on serving.
fn a_live_servers_path_is_refused_and_it_keeps_serving<T: Kind>(site: &Site<T>) {
    let path = path(site, "live.sock");
    let live = spawn(site.transport, &path, Options::new());
    let inode = socket_inode(&path);
    assert_refused(site.transport, &path);
    assert_eq!(
        socket_inode(&path),
        inode,
        "the live server's file was replaced"
    );
    assert_serves(site.transport, &path);
    finish(live);

    let foreign = path.with_extension("foreign");
    let _listener = UnixListener::bind(&foreign).unwrap();
    let _datagram = StdUnixDatagram::bind(foreign.with_extension("dgram")).unwrap();
    for taken in [foreign.clone(), foreign.with_extension("dgram")] {
        let inode = socket_inode(&taken);
        assert_refused(site.transport, &taken);
        assert_eq!(socket_inode(&taken), inode, "{}", taken.display());
    }
    // The std listener still accepts.
    UnixStream::connect(&foreign).expect("the std listener is untouched");
}

/// A path that is not a socket (a regular file, a directory, a symbolic link, even one to a
/// stale socket) is refused and never removed.
fn a_path_that_is_not_a_socket_is_refused_and_never_removed<T: Kind>(site: &Site<T>) {
    let file = path(site, "file");
    fs::write(&file, b"precious").unwrap();
    assert_refused_as_not_a_socket(site.transport, &file, "a regular file");
    assert_eq!(fs::read(&file).unwrap(), b"precious");

    let dir = path(site, "dir");
    fs::create_dir(&dir).unwrap();
    assert_refused_as_not_a_socket(site.transport, &dir, "a directory");
    assert!(fs::metadata(&dir).unwrap().is_dir());

    let stale = path(site, "stale.sock");
    leave_stale_socket::<T>(&stale);
    let link = path(site, "link.sock");
    std::os::unix::fs::symlink(&stale, &link).unwrap();
    assert_refused_as_not_a_socket(site.transport, &link, "a symbolic link");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    socket_inode(&stale);
}

/// The socket file goes with the server: dropping an `EchoServer`, dropping a
/// `ServerHandle`, or joining one removes it, and the path can be bound again.
fn the_server_removes_its_socket_file_when_dropped<T: Kind>(site: &Site<T>) {
    let path = path(site, "mine.sock");
    let server = EchoServer::bind_on(site.transport, at::<T>(&path)).unwrap();
    socket_inode(&path);
    drop(server);
    assert!(!path.exists(), "dropping the server left its file");

    let handle = spawn(site.transport, &path, Options::new());
    assert_serves(site.transport, &path);
    drop(handle);
    assert!(!path.exists(), "dropping the handle left the file");

    let handle = spawn(site.transport, &path, Options::new());
    handle.shutdown();
    handle.join().unwrap();
    assert!(!path.exists(), "joining the handle left the file");
}

/// A server whose file was replaced by another socket meanwhile leaves that socket's file
/// alone when it is dropped.
fn a_socket_file_replaced_meanwhile_is_not_removed<T: Kind>(site: &Site<T>) {
    let path = path(site, "shared.sock");
    let handle = spawn(site.transport, &path, Options::new());
    fs::remove_file(&path).unwrap();
    let other = UnixListener::bind(&path).unwrap();
    let inode = socket_inode(&path);
    drop(handle);
    assert_eq!(
        socket_inode(&path),
        inode,
        "the other socket's file was removed"
    );
    UnixStream::connect(&path).expect("the other socket still listens");
    drop(other);
}

/// `with_unix_mode` gives the socket file exactly the permissions asked for.
fn the_socket_file_has_the_mode_asked_for<T: Kind>(site: &Site<T>) {
    for mode in [0o600, 0o660] {
        let path = path(site, &format!("mode-{mode:o}.sock"));
        let options = Options::new().with_unix_mode(Some(mode));
        let server = EchoServer::bind_on_with(site.transport, at::<T>(&path), options).unwrap();
        let got = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "{}", path.display());
        drop(server);
    }
}

/// A path where nothing was ever bound: connecting names it, with `NotFound`.
fn connecting_to_a_missing_path_names_it<T: Kind>(site: &Site<T>) {
    let missing = path(site, "missing.sock");
    match EchoClient::connect_on(site.transport, at::<T>(&missing)) {
        Err(error @ Error::Connect { .. }) => {
            assert_io_source(&error, ErrorKind::NotFound);
            assert_names(&error, &missing.display().to_string());
        }
        other => panic!("expected Connect, got {other:?}"),
    }
}

instances!(a_stale_socket_file_is_replaced: unix_path, unixgram_path);
instances!(a_live_servers_path_is_refused_and_it_keeps_serving: unix_path, unixgram_path);
instances!(a_path_that_is_not_a_socket_is_refused_and_never_removed: unix_path, unixgram_path);
instances!(the_server_removes_its_socket_file_when_dropped: unix_path, unixgram_path);
instances!(a_socket_file_replaced_meanwhile_is_not_removed: unix_path, unixgram_path);
instances!(the_socket_file_has_the_mode_asked_for: unix_path, unixgram_path);
instances!(connecting_to_a_missing_path_names_it: unix_path, unixgram_path);

/// How long a test waits for a reply it expects not to come.
const NO_REPLY: Duration = Duration::from_millis(300);

/// A datagram from an unnamed socket has no address to answer: `serve()` drops it and counts
/// it in `dropped_bad_source`; `serve_once` skips it and answers the next sender.
fn a_datagram_from_an_unnamed_socket_is_not_answered(site: &Site<UnixDatagram>) {
    let path = path(site, "server.sock");
    let handle = spawn(UnixDatagram, &path, Options::new());
    let unnamed = StdUnixDatagram::unbound().unwrap();
    unnamed.send_to(b"who am I?", &path).unwrap();
    let stats = wait_for_stats(&handle, "the drop", |s| s.dropped_bad_source == 1);
    assert_eq!((stats.datagrams_echoed, stats.bytes_out), (0, 0));
    assert_serves(UnixDatagram, &path);
    let stats = finish(handle);
    assert_eq!((stats.dropped_bad_source, stats.datagrams_echoed), (1, 1));

    let server = EchoServer::bind_on(UnixDatagram, &path).unwrap();
    let served = serve_once_in_background(server);
    unnamed.send_to(b"who am I?", &path).unwrap();
    let mut client = EchoClient::connect_on(UnixDatagram, &path).unwrap();
    assert_eq!(&client.echo(b"named").unwrap()[..], b"named");
    let exchange = served.join().unwrap().unwrap();
    assert_eq!(exchange.peer(), client.local_addr().unwrap());
    assert_eq!(&exchange.first_message()[..], b"named");
}

/// RELIABILITY 27: a datagram whose source is the server's own path would have it echo to
/// itself forever. A Unix source cannot be forged by `bind` while the server holds the path,
/// but it can be once the path is free: a hard link keeps the server reachable, the path is
/// unlinked and bound by another socket, which sends through the link. `serve()` drops the
/// datagram and counts it in `dropped_own_address`; `serve_once` skips it. The server then
/// leaves the other socket's file alone when it is dropped.
fn a_datagram_from_the_servers_own_path_is_not_answered(site: &Site<UnixDatagram>) {
    let path = path(site, "server.sock");
    let link = path.with_extension("link");
    for serve_once in [false, true] {
        let server = EchoServer::bind_on(UnixDatagram, &path).unwrap();
        let own = server.local_addr();
        fs::hard_link(&path, &link).unwrap();
        fs::remove_file(&path).unwrap();
        let forger = StdUnixDatagram::bind(&path).unwrap();
        assert_eq!(UnixAddr::from(forger.local_addr().unwrap()), own);
        forger.set_read_timeout(Some(NO_REPLY)).unwrap();

        if serve_once {
            let served = serve_once_in_background(server);
            forger.send_to(b"loop?", &link).unwrap();
            let mut client = EchoClient::connect_on(UnixDatagram, &link).unwrap();
            assert_eq!(&client.echo(b"named").unwrap()[..], b"named");
            let exchange = served.join().unwrap().unwrap();
            assert_eq!(exchange.peer(), client.local_addr().unwrap());
        } else {
            let handle = server.spawn().unwrap();
            forger.send_to(b"loop?", &link).unwrap();
            let stats = wait_for_stats(&handle, "the drop", |s| s.dropped_own_address == 1);
            assert_eq!(stats.datagrams_echoed, 0);
            assert_serves(UnixDatagram, &link);
            let stats = finish(handle);
            assert_eq!((stats.dropped_own_address, stats.datagrams_echoed), (1, 1));
        }
        let mut buf = [0; 16];
        match forger.recv_from(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("the forged source got an answer: {other:?}"),
        }
        // The server is gone; the path is the forger's socket, which it did not remove.
        socket_inode(&path);
        drop(forger);
        fs::remove_file(&path).unwrap();
        fs::remove_file(&link).unwrap();
    }
}

instances!(a_datagram_from_an_unnamed_socket_is_not_answered: unixgram_path);
instances!(a_datagram_from_the_servers_own_path_is_not_answered: unixgram_path);

/// Every form of a Unix address a caller may write binds a server and connects a client:
/// `&Path`, `PathBuf`, `&PathBuf`, `&str`, `String`, `UnixAddr`, `&UnixAddr`, and on Linux
/// `"@name"` and `UnixAddr::from_abstract_name`.
fn every_written_form_of_an_address_serves<T>(site: &Site<T>)
where
    T: Kind<Addr = UnixAddr>,
    for<'a> &'a Path: ToAddrs<T>,
    PathBuf: ToAddrs<T>,
    for<'a> &'a PathBuf: ToAddrs<T>,
    for<'a> &'a str: ToAddrs<T>,
    String: ToAddrs<T>,
    UnixAddr: ToAddrs<T>,
    for<'a> &'a UnixAddr: ToAddrs<T>,
{
    fn round_trip<T: Kind<Addr = UnixAddr>>(
        transport: T,
        bind: impl ToAddrs<T>,
        connect: impl ToAddrs<T>,
    ) {
        let handle = EchoServer::bind_on(transport, bind)
            .unwrap()
            .spawn()
            .unwrap();
        let mut client = EchoClient::connect_on(transport, connect).unwrap();
        assert_eq!(&client.echo(b"form").unwrap()[..], b"form");
        assert_eq!(client.peer_addr(), handle.local_addr());
        finish(handle);
    }
    let t = site.transport;
    let p = |name: &str| path(site, name);
    round_trip(t, p("a.sock").as_path(), p("a.sock"));
    // The borrow is the form under test.
    #[allow(clippy::needless_borrows_for_generic_args)]
    round_trip(t, p("b.sock"), &p("b.sock"));
    let text = p("c.sock").display().to_string();
    round_trip(t, text.as_str(), text.clone());
    let addr = UnixAddr::from_pathname(p("d.sock")).unwrap();
    round_trip(t, addr.clone(), &addr);
    #[cfg(target_os = "linux")]
    {
        let name = format!("socket-echo-forms-{}-{}", std::process::id(), T::TRANSPORT);
        round_trip(
            t,
            format!("@{name}").as_str(),
            UnixAddr::from_abstract_name(&name).unwrap(),
        );
    }
}

instances!(every_written_form_of_an_address_serves: unix_path, unixgram_path);
