#!/usr/bin/env python3
"""Does a film's own look tell that it is unlike the training films? (issue 13, domain check)

A prototype of an image-space domain check, beside the members' pooled features that
`ensemble-domain` scores: each film as a 24x24 gray thumbnail, standardised per image and
scaled to unit length, with its intensity statistics (mean, std and the 5/25/50/75/95th
percentiles of the thumbnail, z-scored on the training films) appended with weight w; the
score is the squared distance to the k-th nearest training film; the threshold is the q-th
quantile of the val split's scores (q 0.95: 5% of the task's own val films flagged).

Evaluated leave-one-source-out, so that no figure is of a source the setting was chosen on:
for each unseen source S, (w, k) is chosen among the grid by the smallest flag rate over the
*other* unseen sources (the one to maximise), and S's flag rate is reported at that choice,
with the own test split's rate. Training films: the given sources' train split (default
kermany, as the pneumonia and bacterial-vs-viral members).

usage: /usr/bin/python3 bench/domain_thumbnails.py [--data ../shared/data/cxr] [--train-sources kermany]
       [--q 0.95] [--side 24]
Needs numpy and PIL (Debian's python3-numpy and python3-pil, which setup.sh installs).
"""
import argparse
import csv
import os

import numpy as np
from PIL import Image


def thumbnails(root, rows, side):
    out = np.empty((len(rows), side * side))
    for i, r in enumerate(rows):
        im = Image.open(os.path.join(root, r["image"])).convert("L").resize((side, side), Image.BILINEAR)
        out[i] = np.asarray(im, dtype=np.float64).ravel() / 255.0
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("GRADGATE_CXR_DATA", os.path.join(here, "..", "..", "shared", "data", "cxr")))
    ap.add_argument("--train-sources", default="kermany")
    ap.add_argument("--q", type=float, default=0.95)
    ap.add_argument("--side", type=int, default=24)
    a = ap.parse_args()
    manifest = os.path.join(a.data, "manifest.csv")
    if not os.path.isfile(manifest):
        raise SystemExit(f"domain_thumbnails.py: no manifest at {manifest} (--data)")
    rows = list(csv.DictReader(open(manifest, newline="")))
    x = thumbnails(a.data, rows, a.side)
    src = np.array([r["source"] for r in rows])
    split = np.array([r["split"] for r in rows])
    train_sources = set(a.train_sources.split(","))
    own = np.isin(src, list(train_sources))
    tr, va, te = own & (split == "train"), own & (split == "val"), own & (split == "test")
    unseen = sorted(set(src) - train_sources)
    if len(unseen) < 2:
        raise SystemExit("domain_thumbnails.py: leave-one-source-out needs at least two sources outside "
                         f"--train-sources, the data has {unseen}")

    shape = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6)
    shape /= np.linalg.norm(shape, axis=1, keepdims=True)
    stats = np.stack([x.mean(1), x.std(1)] + [np.quantile(x, q, axis=1) for q in (0.05, 0.25, 0.5, 0.75, 0.95)], 1)
    stats = (stats - stats[tr].mean(0)) / stats[tr].std(0)

    grid = [(w, k) for w in (0.0, 0.05, 0.1, 0.2, 0.3, 0.5) for k in (1, 5, 20)]
    rates = {}  # (w, k) -> {population: flag rate}
    for w, k in grid:
        f = np.concatenate([shape, w * stats], 1)
        t = f[tr]
        tt = (t * t).sum(1)

        def score(z):
            d = (z * z).sum(1)[:, None] + tt[None] - 2 * z @ t.T
            return np.partition(d, k - 1, axis=1)[:, k - 1]

        thr = np.quantile(score(f[va]), a.q)
        r = {"own test": float(np.mean(score(f[te]) > thr))}
        for s in unseen:
            r[s] = float(np.mean(score(f[src == s]) > thr))
        rates[(w, k)] = r

    print(f"training films: {int(tr.sum())} ({a.train_sources} train split); threshold: the val split's "
          f"{a.q:.2f} quantile ({int(va.sum())} films); {a.side}x{a.side} thumbnails")
    print("| held-out source | films | (w, k) chosen on the other unseen sources | flagged | own test flagged |")
    print("| --- | --- | --- | --- | --- |")
    for s in unseen:
        others = [o for o in unseen if o != s]
        best = max(grid, key=lambda g: (min(rates[g][o] for o in others), -rates[g]["own test"]))
        print(f"| {s} | {int((src == s).sum())} | ({best[0]}, {best[1]}) | {rates[best][s]:.3f} | "
              f"{rates[best]['own test']:.3f} |")
    print("\nevery setting (flag rates):")
    print("| w | k | own test | " + " | ".join(unseen) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in unseen) + " |")
    for (w, k), r in rates.items():
        print(f"| {w} | {k} | {r['own test']:.3f} | " + " | ".join(f"{r[s]:.3f}" for s in unseen) + " |")


if __name__ == "__main__":
    main()
