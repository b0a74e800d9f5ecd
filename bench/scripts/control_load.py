#!/usr/bin/env python3
"""What the control endpoint costs the echo: `socket-echo bench` against one
`socket-echo serve --control`, with and without a thousand `GET /stats` meanwhile.

Usage: bench/scripts/control_load.py target/release/socket-echo [ROUNDS] [DURATION]

Each round runs the bench three times against the same server, in turns (A B C, then B C A,
then C A B): alone (A), with the /stats loop against this server's endpoint (B), and with
the same loop against the endpoint of another `serve` process that echoes nothing (C: the
same client and endpoint work on the same two cores, outside the echo server's process). The /stats loop sends 1,000 requests, one connection
each, paced evenly over the bench's duration (urllib, as a scraper or a test would). Prints
each run with the server's CPU time (user + system, from /proc) and the loop's own, the
median ratios B/A, B/C and C/A with their min..max for messages/s, p50 and p99, and last the server's CPU
time for 1,000 requests with no bench running: what the endpoint itself costs.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REQUESTS = 1000


def cpu_seconds(pid):
    """User and system time of a process so far."""
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats_loop(control, seconds, result):
    gap = seconds / REQUESTS
    cpu = time.process_time()
    start = time.monotonic()
    ok = 0
    for i in range(REQUESTS):
        due = start + i * gap
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        with urllib.request.urlopen(control + "/stats", timeout=10) as answer:
            json.loads(answer.read())
            ok += answer.status == 200
    result["ok"] = ok
    result["seconds"] = time.monotonic() - start
    result["cpu"] = time.process_time() - cpu


def bench(binary, address, duration):
    out = subprocess.run(
        [binary, "bench", address, "--conns", "50", "--size", "512", "--duration", duration, "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    row = json.loads(out)
    return row["messages_per_sec"], row["rtt_us"]["p50"], row["rtt_us"]["p99"], row["errors"]


def start(binary):
    """A `serve 127.0.0.1:0 --control 127.0.0.1:0`: the process, its echo and control addresses."""
    serve = subprocess.Popen(
        [binary, "serve", "127.0.0.1:0", "--control", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = control = None
    for line in serve.stdout:
        if line.startswith("listening on "):
            address = line.split()[2]
        elif line.startswith("control on "):
            control = line.split()[2]
            break
    return serve, address, control


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    duration = sys.argv[3] if len(sys.argv) > 3 else "5s"
    seconds = float(duration.rstrip("s"))
    serve, address, control = start(binary)
    # C: the same loop against the endpoint of another process, which serves no echo.
    other, _, other_control = start(binary)
    try:
        runs = {"A": [], "B": [], "C": []}
        orders = ["ABC", "BCA", "CAB"]
        for r in range(rounds):
            for kind in orders[r % 3]:
                result = {}
                loop = None
                cpu = cpu_seconds(serve.pid)
                if kind != "A":
                    target = control if kind == "B" else other_control
                    loop = threading.Thread(target=stats_loop, args=(target, seconds, result))
                    loop.start()
                row = bench(binary, address, duration)
                if loop:
                    loop.join()
                cpu = cpu_seconds(serve.pid) - cpu
                runs[kind].append(row)
                extra = ""
                if loop:
                    extra = "; /stats: %d ok in %.2f s, the loop's CPU %.2f s" % (
                        result["ok"],
                        result["seconds"],
                        result["cpu"],
                    )
                print(
                    "round %d %s: %.0f msg/s p50 %.0f us p99 %.0f us errors %d; serve CPU %.2f s, %.2f us/msg%s"
                    % ((r + 1, kind) + row + (cpu, cpu / (row[0] * seconds) * 1e6, extra)),
                    flush=True,
                )
        for pair in ("BA", "BC", "CA"):
            for i, name in enumerate(["msg/s", "p50", "p99"]):
                ratios = [b[i] / a[i] for a, b in zip(runs[pair[1]], runs[pair[0]])]
                print(
                    "%s %s/%s: median %.3f (%.3f..%.3f)"
                    % (name, pair[0], pair[1], statistics.median(ratios), min(ratios), max(ratios))
                )
        result = {}
        cpu = cpu_seconds(serve.pid)
        stats_loop(control, seconds, result)
        cpu = cpu_seconds(serve.pid) - cpu
        print(
            "1000 /stats alone: %d ok in %.2f s; serve CPU %.3f s (%.0f us a request), the loop's %.2f s"
            % (result["ok"], result["seconds"], cpu, cpu / REQUESTS * 1e6, result["cpu"])
        )
    finally:
        for process in (serve, other):
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
