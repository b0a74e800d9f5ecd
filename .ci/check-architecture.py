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

3. Fails on an import circle: at every level (the crate's modules; the children of one module),
   the graph of which names which has no cycle. A child that names an item of its parent's
   own is not an edge (the parent owns it); a name its parent re-exports from a sibling is an
   edge to that sibling. One exception, documented in docs/architecture.md: `transport/
   descriptor.rs` names `EchoServer` and `EchoClient` to write their public `AsFd`.
4. Fails if a leaf names another module: `addr`, `stats` and `token_bucket` name none;
   `error` and `record` name only `addr`.
5. Fails unless docs/architecture.md tells the truth about the layers: its table lists every
   module of the crate, in an order calls flow down (a module names only modules below it,
   the exception of rule 3 aside), and every path it names under src/, tests/, cli/,
   bench/ or docs/ exists.

Comments and doc comments are not code: they may name anything; unit tests (a `tests.rs`, or
the `#[cfg(test)] mod tests` at the end of a file) are not counted by rules 3 and 4.

`--self-test` checks the rules on small made-up sources instead of the tree.
"""
import pathlib
import re
import sys
import tempfile
from collections import defaultdict

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


# The exception of rule 3: (file, the module it names).
EXCEPTIONS = {("src/transport/descriptor.rs", "server"), ("src/transport/descriptor.rs", "client")}
# Rule 4: what each leaf may name.
LEAVES = {"addr": set(), "stats": set(), "token_bucket": set(), "error": {"addr"}, "record": {"addr"}}


def without_tests(code: str) -> str:
    """The code before a file's `#[cfg(test)] mod tests`."""
    i = code.find("#[cfg(test)]\nmod tests")
    return code if i < 0 else code[:i]


def module_of(relative: str) -> tuple[str, ...]:
    """`src/a/b.rs` and `src/a/b/mod.rs` are `("a", "b")`; `src/lib.rs` is `()`."""
    parts = relative.removeprefix("src/").removesuffix(".rs").split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def expand_use(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`."""
    tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", tree))
    m = re.match(r"^([\w:]*?)\{(.*)\}$", tree)
    if not m:
        return [tree]
    head, body = m.group(1), m.group(2)
    items, depth, current = [], 0, ""
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if current:
        items.append(current)
    return [head + e for item in items for e in expand_use(item)]


PATH = re.compile(r"\b((?:crate|super|self)(?:::\w+)+)")
USE = re.compile(r"\buse\s+([^;]+);", re.S)
PUB_USE = re.compile(r"\bpub(?:\([\w:]+\))?\s+use\s+([^;]+);", re.S)


def paths_in(code: str) -> list[str]:
    """The paths from `crate`, `super` or `self` that `code` names, in `use` or inline."""
    out = []
    for m in USE.finditer(code):
        for path in expand_use(m.group(1)):
            if path.split("::")[0] in ("crate", "super", "self"):
                out.append(path)
    out += [m.group(1) for m in PATH.finditer(USE.sub("", code))]
    return out


def resolve(path: str, here: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """The module a path starts from and the names after it."""
    segs = path.split("::")
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    else:
        base = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    return base, [s for s in segs if s not in ("self", "*")]


def module_graph(sources: dict[str, str]) -> dict:
    """For each parent module, the edges between its children: {parent: {(a, b): {files}}}."""
    files = {}
    for relative, text in sources.items():
        if relative.endswith("/tests.rs") or "/tests/" in relative:
            continue
        files[module_of(relative)] = (relative, without_tests(code_of(text)))
    modules = set(files)
    reexports = {}
    for module, (_, code) in files.items():
        for m in PUB_USE.finditer(code):
            for path in expand_use(m.group(1)):
                segs = path.split("::")
                if segs[0] in ("crate", "super", "self"):
                    base, segs = resolve(path, module)
                else:
                    base = list(module)
                if not segs or segs[-1] == "*":
                    continue
                to = tuple(base)
                for seg in segs[:-1]:
                    if to + (seg,) not in modules:
                        break
                    to += (seg,)
                reexports[(module, segs[-1])] = to

    def target(base: list[str], segs: list[str]) -> tuple[str, ...]:
        module, i = tuple(base), 0
        while i < len(segs) and module + (segs[i],) in modules:
            module += (segs[i],)
            i += 1
        for _ in range(8):
            if i >= len(segs) or reexports.get((module, segs[i]), module) == module:
                break
            module = reexports[(module, segs[i])]
            i += 1
        return module

    edges: dict = defaultdict(lambda: defaultdict(set))
    for module, (relative, code) in files.items():
        for path in paths_in(code):
            to = target(*resolve(path, module))
            k = 0
            while k < min(len(module), len(to)) and module[k] == to[k]:
                k += 1
            if k == len(module) or k == len(to):
                continue
            if (relative, to[k]) in EXCEPTIONS:
                continue
            edges[module[:k]][(module[k], to[k])].add(relative)
    return edges


def circles(edges: dict) -> list[str]:
    """Each cycle, as the edges of one strongly connected set of children and their files."""
    found = []
    for parent, pairs in sorted(edges.items()):
        graph = defaultdict(set)
        for a, b in pairs:
            graph[a].add(b)
        index, low, stack, on, counter, sets = {}, {}, [], set(), [0], []

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                members = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    members.append(w)
                    if w == v:
                        break
                if len(members) > 1:
                    sets.append(set(members))

        for v in sorted(graph):
            if v not in index:
                visit(v)
        name = "::".join(parent) or "crate"
        for members in sets:
            lines = [f"{name}: {' <-> '.join(sorted(members))}"]
            for (a, b), where in sorted(pairs.items()):
                if a in members and b in members:
                    lines.append(f"    {a} -> {b} ({', '.join(sorted(where))})")
            found.append("\n".join(lines))
    return found


def leaf_breaches(edges: dict) -> list[str]:
    """Each leaf that names a module outside what it may name."""
    out = []
    for (a, b), where in sorted(edges.get((), {}).items()):
        if a in LEAVES and b not in LEAVES[a]:
            out.append(f"{a} -> {b} ({', '.join(sorted(where))})")
    return out


def graph_self_test() -> int:
    """Rules 3 and 4 on made-up trees."""
    cases = [
        ({"src/lib.rs": "mod a; mod b;", "src/a.rs": "use crate::b::X;", "src/b.rs": "use crate::a::Y;"}, 1, 0),
        ({"src/lib.rs": "mod a; mod b;", "src/a.rs": "use crate::b::X;", "src/b.rs": "pub struct X;"}, 0, 0),
        ({"src/lib.rs": "mod m;", "src/m/mod.rs": "mod x; mod y; pub(super) use y::W;",
          "src/m/x.rs": "use super::W;", "src/m/y.rs": "fn f() { super::x::g() }"}, 1, 0),
        ({"src/lib.rs": "mod m;", "src/m/mod.rs": "mod x; pub struct T; fn f() { x::g() }",
          "src/m/x.rs": "use super::T;"}, 0, 0),
        ({"src/lib.rs": "mod a; mod b; pub use b::Z;", "src/a.rs": "fn f() -> crate::Z {}",
          "src/b.rs": "// crate::a::X in a comment\npub struct Z;\n#[cfg(test)]\nmod tests { use crate::a::X; }"}, 0, 0),
        ({"src/lib.rs": "mod addr; mod error;", "src/addr.rs": "use crate::error::Error;", "src/error.rs": ""}, 0, 1),
        ({"src/lib.rs": "mod a; mod b; mod c;", "src/a.rs": "use crate::{b::{X, Y}};",
          "src/b.rs": "use crate::c::Z;", "src/c.rs": "use crate::a::W;"}, 1, 0),
    ]
    doc = "## Layers\n| `src/lib.rs` | x |\n| `src/a.rs` | x |\n| `src/b/` | x |\n## Next\n"
    edges = module_graph({"src/lib.rs": "", "src/a.rs": "use crate::b::X;", "src/b/mod.rs": ""})
    scratch = tempfile.TemporaryDirectory()
    here = pathlib.Path(scratch.name)
    for made in ("src/lib.rs", "src/a.rs", "src/b/mod.rs"):
        (here / made).parent.mkdir(parents=True, exist_ok=True)
        (here / made).write_text("")
    doc_cases = [
        (doc, {"a", "b"}, 0),
        (doc, {"a", "b", "c"}, 1),
        (doc.replace("`src/a.rs`", "`src/z.rs`").replace("`src/b/`", "`src/a.rs`").replace("`src/z.rs`", "`src/b/`"), {"a", "b"}, 1),
        (doc + "see `tests/no_such_file.rs`\n", {"a", "b"}, 1),
    ]
    failed = 0
    for text, modules, expected in doc_cases:
        got = len(doc_breaches(text, edges, modules, here))
        if got != expected:
            failed += 1
            print(f"self-test: doc {text!r} with {sorted(modules)}: {got} breaches, expected {expected}")
    for sources, n_circles, n_leaves in cases:
        edges = module_graph(sources)
        got = (len(circles(edges)), len(leaf_breaches(edges)))
        if got != (n_circles, n_leaves):
            failed += 1
            print(f"self-test: {sorted(sources.items())}: found {got}, expected {(n_circles, n_leaves)}")
    return failed


def layer_order(doc: str) -> list[str]:
    """The crate's modules as the layer table of docs/architecture.md lists them, in order."""
    section = doc.split("## Layers", 1)[-1].split("\n## ", 1)[0]
    order = []
    for m in re.finditer(r"^\| `src/([\w.]+)(/?)` \|", section, re.M):
        name, is_dir = m.group(1), m.group(2)
        if name == "lib.rs":
            continue
        order.append(name.removesuffix(".rs") if not is_dir else name)
    return order


def doc_breaches(doc: str, edges: dict, modules: set[str], root: pathlib.Path) -> list[str]:
    """Where docs/architecture.md's layers or paths disagree with the tree."""
    out = []
    order = layer_order(doc)
    for missing in sorted(modules - set(order)):
        out.append(f"module `{missing}` is not in the layer table")
    where = {name: i for i, name in enumerate(order)}
    for (a, b), files in sorted(edges.get((), {}).items()):
        if a in where and b in where and where[a] > where[b]:
            out.append(f"`{a}` is listed below `{b}`, which it names ({', '.join(sorted(files))})")
    for path in sorted(set(re.findall(r"`((?:src|tests|cli|bench|docs)/[\w/.*-]+)`", doc))):
        if not any(root.glob(path.rstrip("/"))):
            out.append(f"`{path}` does not exist")
    return out


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
    failed = graph_self_test()
    for text, sockets, descriptors in cases:
        got = stray_names(text)
        if got != (sockets, descriptors):
            failed += 1
            print(f"self-test: {text!r}: found {got}, expected {(sockets, descriptors)}")
    if failed:
        return 1
    print(f"self-test: {len(cases)} name cases and the graph cases pass")
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
    sources = {
        path.relative_to(root).as_posix(): path.read_text() for path in sorted((root / "src").rglob("*.rs"))
    }
    edges = module_graph(sources)
    found, leaves = circles(edges), leaf_breaches(edges)
    modules = {module_of(name)[0] for name in sources if module_of(name)}
    doc = doc_breaches((root / "docs/architecture.md").read_text(), edges, modules, root)
    breaches = [
        ("concrete socket types named outside src/transport/", stray_sockets),
        ("descriptors reached outside src/transport/ (go through the capabilities)", stray_descriptors),
        ("import circles (a module that names, directly or through others, one that names it)", found),
        ("leaves that name another module (addr, stats, token_bucket: none; error, record: addr only)", leaves),
        ("docs/architecture.md disagrees with the tree", doc),
    ]
    for what, lines in breaches:
        if lines:
            print(f"{what}:")
            print("\n".join(f"  {line}" for line in lines))
    if any(lines for _, lines in breaches):
        return 1
    print("only src/transport/ names concrete socket types or reaches a descriptor")
    print("no import circle; the leaves name no other module")
    print("docs/architecture.md lists every module, in an order calls flow down, and its paths exist")
    return 0


if __name__ == "__main__":
    sys.exit(main())
