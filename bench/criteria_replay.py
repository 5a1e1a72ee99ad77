#!/usr/bin/env python3
"""Replays the lung gate's criteria (share, lift, excess) on two ensemble-classify runs of one
task, a validation and a test run made with --tau 0 (every member votes; results.csv holds each
member's label, probability, share, lift and excess), and asks issue 12's question: are the
votes the gate keeps more accurate than those it drops, and is the gated soft vote (quorum 1,
abstain) at least as accurate as the plain one? The threshold is chosen on the validation run
only (highest gated accuracy with coverage >= --min-coverage) and reported on the test run.
A stop-gap until ensemble-bench (issue 14): binary tasks, no confidence intervals.

  bench/criteria_replay.py --task pneumonia --data ../shared/data/cxr/manifest.csv \\
      --val out/val/results.csv --test out/test/results.csv
"""
import argparse, csv, math, os

LABELS = {  # manifest diagnosis -> class, per task (the task YAML's label map, Kermany rows)
    "pneumonia": {"normal": "normal", "bacterial": "pneumonia", "viral": "pneumonia"},
    "bacterial-vs-viral": {"bacterial": "bacterial", "viral": "viral"},
}
GRID = {"share": [0.3, 0.4, 0.5], "lift": [1.0, 1.25, 1.5], "excess": [0.0, 0.1, 0.2, 0.3]}


def truth_of(manifest, task):
    out = {}
    for r in csv.DictReader(open(manifest)):
        cls = LABELS[task].get(r["diagnosis"])
        if cls:
            out[os.path.basename(r["image"])] = cls
    return out


def load(results, truth):
    rows = list(csv.DictReader(open(results)))
    members = [h[:-7] for h in rows[0] if h.endswith("_status") and h != "status"]
    classes = [h[5:] for h in rows[0] if h.startswith("prob_")]
    if len(classes) != 2:
        raise SystemExit(f"{results}: binary tasks only")
    data = []
    for r in rows:
        t = truth.get(os.path.basename(r["image"]))
        if t is None or r["status"] != "ok":
            continue
        ms = []
        for m in members:
            lab, p = r[m + "_label"], float(r[m + "_prob"])
            probs = {c: (p if c == lab else 1 - p) for c in classes}
            score = {k: float(r[f"{m}_{k}"]) if r[f"{m}_{k}"] else math.nan for k in GRID}
            ms.append((lab, probs, score))
        data.append((t, ms))
    return data, classes


def evaluate(data, classes, crit, tau):
    kc = kn = dc = dn = gc = gn = pc = 0
    for truth, ms in data:
        keep = [not math.isnan(s[crit]) and s[crit] >= tau for _, _, s in ms]
        for (lab, _, _), k in zip(ms, keep):
            if k:
                kn += 1; kc += lab == truth
            else:
                dn += 1; dc += lab == truth
        plain = {c: sum(p[c] for _, p, _ in ms) for c in classes}
        pc += max(plain, key=plain.get) == truth
        if any(keep):
            gated = {c: sum(p[c] for (_, p, _), k in zip(ms, keep) if k) for c in classes}
            gn += 1; gc += max(gated, key=gated.get) == truth
    n = len(data)
    return dict(kept=kc / max(kn, 1), dropped=dc / max(dn, 1), gated=gc / max(gn, 1),
                coverage=gn / n, plain=pc / n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, choices=sorted(LABELS))
    ap.add_argument("--data", required=True, help="the cxr manifest.csv (true labels)")
    ap.add_argument("--val", required=True, help="results.csv of the validation run (--tau 0)")
    ap.add_argument("--test", required=True, help="results.csv of the test run (--tau 0)")
    ap.add_argument("--min-coverage", type=float, default=0.5)
    a = ap.parse_args()
    truth = truth_of(a.data, a.task)
    val, classes = load(a.val, truth)
    test, _ = load(a.test, truth)
    print(f"{a.task}: {len(val)} val and {len(test)} test images; accuracy of kept / dropped "
          "member votes, gated soft vote @ coverage, plain soft vote")
    print("| criterion | tau | val kept / dropped | val gated @ cov | test kept / dropped | test gated @ cov | test plain |")
    print("|---|---|---|---|---|---|---|")
    best = None
    for crit, taus in GRID.items():
        for tau in taus:
            v, t = evaluate(val, classes, crit, tau), evaluate(test, classes, crit, tau)
            print(f"| {crit} | {tau:.2f} | {v['kept']:.3f} / {v['dropped']:.3f} | {v['gated']:.3f} @ {v['coverage']:.2f} "
                  f"| {t['kept']:.3f} / {t['dropped']:.3f} | {t['gated']:.3f} @ {t['coverage']:.2f} | {t['plain']:.3f} |")
            if v["coverage"] >= a.min_coverage and (best is None or v["gated"] > best[2]):
                best = (crit, tau, v["gated"], t)
    crit, tau, _, t = best
    print(f"\nchosen on val: {crit} >= {tau}; on test: kept {t['kept']:.3f} / dropped {t['dropped']:.3f}, "
          f"gated {t['gated']:.3f} at coverage {t['coverage']:.3f}, plain {t['plain']:.3f}")


if __name__ == "__main__":
    main()
