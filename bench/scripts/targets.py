#!/usr/bin/env python3
"""The tail-latency and CPU targets of docs/performance.md, checked against one `peers --json` run.

Usage: targets.py RUN.json

Each figure is a median over the run's rounds. "ours ÷ X" is the median of the
round-by-round ratios, as the peers table gives it; "the best server" is the other server
with the best median on that row, and ours is compared with it round by round.
A row a run did not measure is reported as such, never as held."""
import json
import statistics
import sys


def load(path):
    run = json.load(open(path))
    by = {}
    for r in run['records']:
        if r['value'] is None:
            continue
        by.setdefault((r['workload'], r['metric'], r['server']), {})[r['round']] = r['value']
    return run, by


def median(by, row, server):
    values = by.get(row + (server,))
    return statistics.median(values.values()) if values else None


def per_round(by, row, peer):
    ours, theirs = by.get(row + ('ours',)), by.get(row + (peer,))
    if not ours or not theirs:
        return None
    ratios = [ours[k] / theirs[k] for k in ours if k in theirs and theirs[k] > 0]
    return statistics.median(ratios) if ratios else None


def best(by, row, lower, among):
    values = [(median(by, row, s), s) for s in among]
    values = [(v, s) for v, s in values if v is not None]
    if not values:
        return None, None
    return min(values) if lower else max(values)


def main():
    run, by = load(sys.argv[1])
    others = [s for s in run['servers'] if s != 'ours']
    checks = []

    def against_peer(label, row, peer, limit):
        ratio = per_round(by, row, peer)
        checks.append((label, f'ours ÷ {peer}', ratio, limit, ratio is not None and ratio <= limit))

    def against_best(label, row, lower, limit, among=None):
        _, who = best(by, row, lower, among or others)
        ratio = per_round(by, row, who) if who else None
        ok = ratio is not None and (ratio <= limit if lower else ratio >= limit)
        how = f'ours ÷ best ({who})' if who else 'ours ÷ best'
        checks.append((label, how, ratio, limit, ok))

    against_peer('tcp-50 p99 <= 0.8x tokio', ('tcp-50', 'p99 ms'), 'tokio', 0.8)
    against_best('tcp-1k p99 <= 0.9x the best server', ('tcp-1k', 'p99 ms'), True, 0.9)
    against_best('udp-50 p99 <= the best peer (naive, tokio)', ('udp-50', 'p99 ms'), True, 1.0,
                 [s for s in ('naive', 'tokio') if s in others])
    against_best('tcp-50 CPU/msg <= 0.95x the best server', ('cpu', 'server CPU µs/msg'), True, 0.95)
    against_peer('udp-50 CPU/msg <= 0.85x epoll', ('udp-50', 'server CPU µs/msg'), 'epoll', 0.85)
    for row in [('tcp-50', 'msgs/s'), ('tcp-1k', 'msgs/s'), ('udp-50', 'msgs/s'), ('bulk', 'MB/s')]:
        against_best(f'{row[0]} {row[1]} >= 0.97x the best server', row, False, 0.97)
    lost = median(by, ('udp-50', 'lost'), 'ours')
    checks.append(('udp-50 lost = 0', 'ours, median', lost, 0, lost == 0))
    idle = median(by, ('idle-10k', 'RSS bytes/conn'), 'ours')
    checks.append(('idle-10k < 100 B/conn', 'ours, median', idle, 100, idle is not None and idle < 100))
    against_peer('tcp-lat p50 <= 1.05x raw', ('tcp-lat', 'p50 µs'), 'raw', 1.05)

    print(f"{run['rounds']} round(s) of {run['secs']} s; other processes: {run['other_processes_cpu']}")
    print()
    print('| target | measured as | figure | limit | held |')
    print('|---|---|---:|---:|---|')
    for label, how, value, limit, ok in checks:
        shown = '–' if value is None else f'{value:.2f}'
        held = 'not measured' if value is None else ('yes' if ok else '**no**')
        print(f'| {label} | {how} | {shown} | {limit} | {held} |')


if __name__ == '__main__':
    main()
