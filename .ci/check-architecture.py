#!/usr/bin/env python3
"""The architecture's rules: only src/transport/ names a concrete socket type or reaches a
descriptor.

1. Fails if any Rust file under src/ outside src/transport/ names TcpListener, TcpStream,
   UdpSocket, UnixListener, UnixStream or UnixDatagram from std or mio. The crate's own
   transport is also called `UnixDatagram`, so for that name only a path through std or mio
   counts; the other names count wherever they appear in code.
2. Fails if any Rust file under src/ outside src/transport/ names a way to a descriptor:
   `SockRef`, `SourceFd`, `AsRawFd`/`as_raw_fd`, `AsFd`/`as_fd` or `BorrowedFd`. Everything the
   loops, the engines, the faults and `measure` do to a socket goes through the transport's
   capabilities, so that a transport whose bytes are not its descriptor's (TLS) can be added
   as one file.

Comments and doc comments are not code: they may name anything.

`--self-test` checks the rules on small made-up sources instead of the tree.
"""
import pathlib
import re
import sys

SOCKETS = ["TcpListener", "TcpStream", "UdpSocket", "UnixListener", "UnixStream", "UnixDatagram"]
UNAMBIGUOUS = [name for name in SOCKETS if name != "UnixDatagram"]
# `std::net::TcpStream`, `std::os::unix::net::UnixDatagram`, `mio::net::UdpSocket`, and the
# same names inside a `use ...::{...}` group (which may span lines).
MODULE = r"(?:std::net|std::os::unix::net|mio::net|net)"
QUALIFIED = re.compile(MODULE + r"::(?:\{[^}]*\b(" + "|".join(SOCKETS) + r")\b[^}]*\}|(" + "|".join(SOCKETS) + r")\b)", re.S)
BARE = re.compile(r"\b(" + "|".join(UNAMBIGUOUS) + r")\b")
DESCRIPTORS = ["SockRef", "SourceFd", "AsRawFd", "as_raw_fd", "AsFd", "as_fd", "BorrowedFd"]
DESCRIPTOR = re.compile(r"\b(" + "|".join(DESCRIPTORS) + r")\b")


def code_of(text: str) -> str:
    """The text without comments (`//` to the end of the line), so docs may name anything."""
    return "\n".join(re.sub(r"//.*", "", line) for line in text.splitlines())


def stray_names(text: str) -> tuple[set[str], set[str]]:
    """The concrete socket types, and the ways to a descriptor, named in the code of `text`."""
    code = code_of(text)
    sockets = {m.group(1) or m.group(2) for m in QUALIFIED.finditer(code)}
    sockets |= {m.group(1) for m in BARE.finditer(code)}
    descriptors = {m.group(1) for m in DESCRIPTOR.finditer(code)}
    return sockets, descriptors


def self_test() -> int:
    cases = [
        ("use std::net::TcpStream;", {"TcpStream"}, set()),
        ("use std::os::unix::net::{\n    UnixDatagram,\n};", {"UnixDatagram"}, set()),
        ("let t = UnixDatagram;", set(), set()),
        ("use socket2::SockRef;", set(), {"SockRef"}),
        ("let fd = s.as_fd().as_raw_fd();", set(), {"as_fd", "as_raw_fd"}),
        ("fn f(fd: BorrowedFd<'_>) {}", set(), {"BorrowedFd"}),
        ("impl<S: AsFd> X for S {}", set(), {"AsFd"}),
        ("registry.register(&mut SourceFd(&fd), t, i)", set(), {"SourceFd"}),
        ("// SockRef, as_fd and TcpStream in a comment\n/// AsFd in a doc", set(), set()),
        ("let has_fd = x.as_fdx();", set(), set()),
    ]
    failed = 0
    for text, sockets, descriptors in cases:
        got = stray_names(text)
        if got != (sockets, descriptors):
            failed += 1
            print(f"self-test: {text!r}: found {got}, expected {(sockets, descriptors)}")
    if failed:
        return 1
    print(f"self-test: {len(cases)} cases pass")
    return 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(__file__).resolve().parent.parent
    stray_sockets, stray_descriptors = [], []
    for path in sorted((root / "src").rglob("*.rs")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("src/transport/"):
            continue
        sockets, descriptors = stray_names(path.read_text())
        if sockets:
            stray_sockets.append(f"{relative}: {', '.join(sorted(sockets))}")
        if descriptors:
            stray_descriptors.append(f"{relative}: {', '.join(sorted(descriptors))}")
    if stray_sockets:
        print("concrete socket types named outside src/transport/:")
        print("\n".join(f"  {line}" for line in stray_sockets))
    if stray_descriptors:
        print("descriptors reached outside src/transport/ (go through the capabilities):")
        print("\n".join(f"  {line}" for line in stray_descriptors))
    if stray_sockets or stray_descriptors:
        return 1
    print("only src/transport/ names concrete socket types or reaches a descriptor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
