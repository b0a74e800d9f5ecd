#!/usr/bin/env python3
"""A/B of serve() between two builds, from the JSON of interleaved `peers` runs.

Usage: ab_compare.py DIR, where DIR holds new-*.json and base-*.json (`peers --json`).
For each row: the per-round ratio ours ÷ peer in every run of a build, its median per
build, and new ÷ base, through tokio and through the epoll loop; the last column is the
median of the two, turned so that above 1 is better for the new build."""
import json, statistics, sys, glob
def ratios(path, peers):
    d = json.load(open(path))
    out = {}
    recs = d['records']
    by = {}
    for r in recs:
        by[(r['workload'], r['metric'], r['round'], r['server'])] = r['value']
    for r in recs:
        if r['server'] != 'ours': continue
        key = (r['workload'], r['metric'])
        for p in peers:
            v = by.get((r['workload'], r['metric'], r['round'], p))
            if v and r['value'] is not None and v > 0:
                out.setdefault((key, p), []).append((r['value'] / v, r['better']))
    return out
peers = ['tokio', 'epoll']
builds = {}
for b in ['new', 'base']:
    acc = {}
    for f in sorted(glob.glob(f'{sys.argv[1]}/{b}-*.json')):
        for k, vs in ratios(f, peers).items():
            acc.setdefault(k, []).extend(vs)
    builds[b] = acc
rows = sorted({k[0] for k in builds['new']} & {k[0] for k in builds['base']}, key=lambda k: (k[0], k[1]))
print('| workload | metric | better | new÷base via tokio | via epoll | new vs base (>1: better) |')
print('|---|---|---|---:|---:|---|')
for row in rows:
    cells = []; goods = []
    better = None
    for p in peers:
        n = builds['new'].get((row, p)); b = builds['base'].get((row, p))
        if not n or not b: cells.append('–'); continue
        better = n[0][1]
        rn = statistics.median(x for x, _ in n); rb = statistics.median(x for x, _ in b)
        q = rn / rb if rb else float('nan')
        cells.append(f'{q:.2f}')
        goods.append(q if better == 'higher' else (1 / q if q else float('nan')))
    g = statistics.median(goods) if goods else float('nan')
    print(f'| {row[0]} | {row[1]} | {better} | {cells[0]} | {cells[1]} | {g:.2f} |')
