#!/usr/bin/env python3
"""Accuracy of the gated ensemble against the plain one, from an ensemble-classify run.

ensemble-classify writes every member's class probabilities and in-lung share per image
(results.jsonl), so the gate can be replayed here for any threshold without running the
networks again: this is the threshold-tuning run. The truth comes from the data set's
manifest (its `diagnosis` column) mapped through the task's YAML (labels, classes).

  bench/gate_accuracy.py --task pneumonia --results out/test/results.jsonl \
      --manifest ../shared/data/cxr/manifest.csv [--taus 0,0.3,0.5,0.7] [--quorum 3]

Prints: the plain soft vote of all members, each member alone, and for every tau the
coverage (images answered, the rest abstained) and the accuracy on the answered images,
beside the plain ensemble's accuracy on the same images. The run's own decisions are
checked against the replay at the run's tau (a mismatch is an error: the replay would be
wrong).
"""
import argparse
import csv
import json
import os
import sys

import yaml


def load_task(config_dir, task):
    path = os.path.join(config_dir, "tasks", task + ".yaml")
    with open(path) as f:
        t = yaml.safe_load(f)
    labels = {str(k).lower(): v for k, v in t["labels"].items()}
    return t["classes"], labels, t["ensemble"]


def load_truth(manifest):
    """image path (absolute, normalised) -> diagnosis."""
    base = os.path.dirname(os.path.abspath(manifest))
    truth = {}
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            path = row.get("image") or row.get("path")
            label = row.get("diagnosis") or row.get("label")
            truth[os.path.normpath(os.path.join(base, path))] = label.lower()
    return truth


def soft_vote(members, classes):
    if not members:
        return None
    mean = [sum(m["probs"][c] for m in members) / len(members) for c in classes]
    return max(range(len(classes)), key=lambda k: mean[k])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True)
    ap.add_argument("--results", required=True, help="results.jsonl of an ensemble-classify run")
    ap.add_argument("--manifest", required=True, help="manifest/CSV with image and diagnosis (or path,label) columns")
    ap.add_argument("--config-dir", default=os.path.join(here, "..", "config"))
    ap.add_argument("--taus", default="0,0.2,0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--quorum", type=int, default=None, help="default: the task's")
    a = ap.parse_args()

    classes, labels, ens = load_task(a.config_dir, a.task)
    quorum = a.quorum if a.quorum is not None else int(ens.get("quorum", 1))
    truth_of = load_truth(a.manifest)
    run_dir = os.path.dirname(os.path.abspath(a.results))

    rows, unknown = [], 0
    with open(a.results) as f:
        for line in f:
            r = json.loads(line)
            if r.get("status", "ok") != "ok" or not r.get("members"):
                continue
            # A relative image path is relative to where ensemble-classify ran: try here, then the run's folder.
            keys = [os.path.normpath(os.path.abspath(r["image"])), os.path.normpath(os.path.join(run_dir, r["image"]))]
            diag = next((truth_of[k] for k in keys if k in truth_of), None)
            cls = labels.get(diag) if diag else None
            if cls not in classes:
                unknown += 1
                continue
            r["truth"] = classes.index(cls)
            rows.append(r)
    if not rows:
        sys.exit("gate_accuracy: no image of %s has a label of task %s in %s" % (a.results, a.task, a.manifest))
    n = len(rows)
    names = [m["name"] for m in rows[0]["members"]]
    print("task %s: %d images with a known label (%d without), %d members, quorum %d, fallback abstain"
          % (a.task, n, unknown, len(names), quorum))

    plain = [soft_vote(r["members"], classes) == r["truth"] for r in rows]
    print("plain soft vote, all members: accuracy %.4f" % (sum(plain) / n))
    print("\nmember               accuracy  mean share  share>=0.5")
    for j, name in enumerate(names):
        acc = sum(r["members"][j]["label_index"] == r["truth"] for r in rows) / n
        shares = [r["members"][j]["share"] for r in rows if r["members"][j]["share"] is not None]
        mean_share = "%.3f" % (sum(shares) / len(shares)) if shares else "-"
        high = sum(s >= 0.5 for s in shares) / n
        print("%-20s %.4f    %-5s       %.3f" % (name, acc, mean_share, high))

    def replay(tau):
        answered = correct = plain_on_answered = 0
        decisions = []
        for r, p in zip(rows, plain):
            passed = [m for m in r["members"] if m["status"] == "ok" and m["share"] is not None and m["share"] >= tau]
            label = soft_vote(passed, classes) if len(passed) >= quorum else None
            decisions.append(label)
            if label is None:
                continue
            answered += 1
            correct += label == r["truth"]
            plain_on_answered += p
        return answered, correct, plain_on_answered, decisions

    print("\ntau   answered  coverage  gated accuracy  plain accuracy on the same images")
    for tau in [float(t) for t in a.taus.split(",")]:
        ans, cor, pl, _ = replay(tau)
        if ans:
            print("%.2f  %5d     %.3f     %.4f          %.4f" % (tau, ans, ans / n, cor / ans, pl / ans))
        else:
            print("%.2f  %5d     %.3f     -               -" % (tau, 0, 0.0))

    # The replay must reproduce the run's own decisions at the run's tau (when soft/abstain).
    tau_run = float(ens.get("tau", 0.5))
    if ens.get("vote", "soft") == "soft" and ens.get("fallback", "abstain") == "abstain" and a.quorum is None:
        _, _, _, dec = replay(tau_run)
        mismatch = sum((d if d is not None else -1) != (r["label_index"] if not r["abstained"] else -1)
                       for d, r in zip(dec, rows))
        if mismatch:
            sys.exit("gate_accuracy: the replay at tau %.2f disagrees with the run on %d images "
                     "(was the run made with other --tau/--quorum/--vote?)" % (tau_run, mismatch))
        print("\nreplay at the task's tau %.2f matches the run's decisions on all %d images" % (tau_run, n))


if __name__ == "__main__":
    main()
