#!/usr/bin/env python3
"""The age shortcut of the COVID tasks, measured on films whose answer is known not to be COVID.

covid-vs-other's COVID-19 films are all adults and its other-viral films nearly all Kermany's
children, so a member can separate the classes by age alone. Adult films without COVID-19
(Cohen's normal, bacterial and other films, JSRT's normals and nodules; none of them in the
task's training split) are the probe: a member that calls them COVID learned "adult", not
COVID-19. Reads an ensemble-classify results.csv made on such films; prints, per member and
for the plain and gated ensembles, the share of films called `--positive`, with a Wilson 95%
interval, and the members' mean in-lung share.

usage: bench/age_probe.py RESULTS.csv [--positive covid]
"""
import argparse
import csv
import math


def wilson(k, n, z=1.96):
    if n == 0:
        return (float("nan"),) * 3
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return p, max(0.0, c - h), min(1.0, c + h)


def fmt(k, n):
    p, lo, hi = wilson(k, n)
    return f"{k:4d}/{n:<4d} {p:6.3f} [{lo:.3f}, {hi:.3f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--positive", default="covid")
    a = ap.parse_args()
    rows = [r for r in csv.DictReader(open(a.results, newline="")) if r["status"] == "ok"]
    if not rows:
        raise SystemExit(f"{a.results}: no ok rows")
    members = [c[: -len("_label")] for c in rows[0] if c.endswith("_label") and c not in ("true_label", "plain_label")]
    print(f"{len(rows)} films; called '{a.positive}' (Wilson 95% interval); mean in-lung share")
    print(f"{'member':20s} {'called ' + a.positive:>32s}  share")
    for m in members:
        k = sum(r[m + "_label"] == a.positive for r in rows)
        shares = [float(r[m + "_share"]) for r in rows if r[m + "_share"]]
        s = sum(shares) / len(shares) if shares else float("nan")
        print(f"{m:20s} {fmt(k, len(rows)):>32s}  {s:.3f}")
    k = sum(r["plain_label"] == a.positive for r in rows)
    print(f"{'plain ensemble':20s} {fmt(k, len(rows)):>32s}")
    voted = [r for r in rows if r["abstained"] != "true"]
    k = sum(r["label"] == a.positive for r in voted)
    print(f"{'gated ensemble':20s} {fmt(k, len(voted)):>32s}  (abstained on {len(rows) - len(voted)} of {len(rows)})")


if __name__ == "__main__":
    main()
