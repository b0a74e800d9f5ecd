#!/usr/bin/env python3
"""The architecture's one rule: only src/transport/ names a concrete socket type.

Fails if any Rust file under src/ outside src/transport/ names TcpListener, TcpStream,
UdpSocket, UnixListener, UnixStream or UnixDatagram from std or mio. The crate's own transport
is also called `UnixDatagram`, so for that name only a path through std or mio counts; the
other names count wherever they appear in code (comments and doc comments are not code).
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


def code_of(text: str) -> str:
    """The text without comments (`//` to the end of the line), so docs may name anything."""
    return "\n".join(re.sub(r"//.*", "", line) for line in text.splitlines())


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    stray = []
    for path in sorted((root / "src").rglob("*.rs")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("src/transport/"):
            continue
        code = code_of(path.read_text())
        names = {m.group(1) or m.group(2) for m in QUALIFIED.finditer(code)}
        names |= {m.group(1) for m in BARE.finditer(code)}
        if names:
            stray.append(f"{relative}: {', '.join(sorted(names))}")
    if stray:
        print("concrete socket types named outside src/transport/:")
        print("\n".join(f"  {line}" for line in stray))
        return 1
    print("only src/transport/ names concrete socket types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
