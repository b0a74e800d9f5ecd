"""A test written as a user in another language writes one against `socket-echo serve`.

It starts `socket-echo serve udp://127.0.0.1:0 --control 127.0.0.1:0` (the binary is the
first argument), reads where it listens and where its control endpoint is from what it
prints, runs a UDP client, turns every reply off and on again with two HTTP requests
(urllib, nothing else) while the client runs, and scrapes /metrics. Prints
"N passed, N failed" and exits 0 only if every check held.
"""

import json
import signal
import socket
import subprocess
import sys
import urllib.request

CHECKS = []


def check(name, held):
    CHECKS.append((name, bool(held)))
    print(("ok    " if held else "FAILED ") + name, flush=True)


def request(method, url, body=None):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as answer:
        return answer.status, answer.read().decode()


def echoed(sock, payload):
    """True if `payload` comes back within the socket's timeout."""
    sock.send(payload)
    try:
        while True:
            if sock.recv(2048) == payload:
                return True
    except socket.timeout:
        return False


def main():
    binary = sys.argv[1]
    serve = subprocess.Popen(
        [binary, "serve", "udp://127.0.0.1:0", "--control", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = control = None
        for line in serve.stdout:
            if line.startswith("listening on udp://"):
                address = line.split("udp://", 1)[1].strip()
            elif line.startswith("control on "):
                control = line.split(" ", 2)[2].strip()
                break
        host, port = address.rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(0.2)
        sock.connect((host, int(port)))

        check("the client is answered", echoed(sock, b"first"))
        status, _ = request("PUT", control + "/faults", "drop=1")
        check("PUT /faults drop=1 is taken", status == 200)
        check("no answer while every reply is dropped", not echoed(sock, b"dropped"))
        status, _ = request("DELETE", control + "/faults")
        check("DELETE /faults is taken", status == 200)
        check("answered again once the faults are cleared", echoed(sock, b"again"))

        label = '{address="udp://%s"}' % address
        # The server counts a reply just after sending it: scrape until the last one is
        # counted (a few tries at most).
        for _ in range(100):
            status, page = request("GET", control + "/metrics")
            figures = {}
            for line in page.splitlines():
                if line and not line.startswith("#"):
                    name, value = line.rsplit(" ", 1)
                    figures[name] = int(value)
            if figures.get("socket_echo_datagrams_echoed_total" + label) == 2:
                break
        check("/metrics answers", status == 200)
        check("one datagram dropped", figures.get("socket_echo_faults_dropped_total" + label) == 1)
        check("two echoed", figures.get("socket_echo_datagrams_echoed_total" + label) == 2)
        stats = json.loads(request("GET", control + "/stats")[1])
        check("/stats agrees", stats["datagrams_echoed"] == 2 and stats["faults"]["dropped"] == 1)
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=20)
    check("serve stops cleanly", code == 0)
    failed = sum(1 for _, held in CHECKS if not held)
    print("%d passed, %d failed" % (len(CHECKS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
