#!/usr/bin/env python3
"""One table over tasks from bench/run_accuracy.sh's outputs (bench.json files).

  accuracy_summary.py OUT TASK [TASK ...]

Per task, on the test split: the best member (chosen by its validation accuracy, so the
choice is not made on test), the plain vote, the gated vote at the task's own setting and at
the setting ensemble-tune chose on validation, each with its 95% interval (bootstrap over
patients), coverage, and McNemar's test of gated against plain on the images the gate
answered. Also written as OUT/summary.json and OUT/summary.md.
"""
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def ci(entry, key):
    v = entry.get(key)
    c = entry.get(key + "_ci")
    if v is None:
        return "n/a"
    if isinstance(c, dict) and c.get("lo") is not None:
        return f"{v:.3f} [{c['lo']:.3f}, {c['hi']:.3f}]"
    if isinstance(c, list) and len(c) == 2 and c[0] is not None:
        return f"{v:.3f} [{c[0]:.3f}, {c[1]:.3f}]"
    return f"{v:.3f}"


def recall(entry):
    return " / ".join(f"{s:.2f}" if s is not None else "n/a" for s in entry["sensitivity"])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, tasks = sys.argv[1], sys.argv[2:]
    rows, summary = [], {}
    for t in tasks:
        val = load(os.path.join(out, f"{t}-val", "bench.json"))
        test = load(os.path.join(out, f"{t}-test", "bench.json"))
        tuned = load(os.path.join(out, f"{t}-tune", "bench.json"))
        if test.get("warning") or tuned.get("warning"):
            print(f"{t}: WARNING: {test.get('warning') or tuned.get('warning')}")
        best_name = max(val["members"], key=lambda m: (m["accuracy"] or 0))["name"]
        best = next(m for m in test["members"] if m["name"] == best_name)
        classes = test["run"]["classes"]
        entry = {"classes": classes, "best_member_by_val": best_name}
        for label, e, bench in (
            (f"best member on val: {best_name}", best, None),
            ("plain vote", test["plain"], None),
            (f"gated, task's setting ({test['setting']['description']})", test["gated"], test),
            (f"gated, tuned on val ({tuned['setting']['description']})", tuned["gated"], tuned),
        ):
            p = bench["paired"] if bench else None
            mcnemar = (f"{p['plain_right_gated_wrong']} / {p['plain_wrong_gated_right']}, p {p['p_exact']:.3f}"
                       if p and p.get("p_exact") is not None else "")
            rows.append((t, label, ci(e, "accuracy"), ci(e, "balanced_accuracy"),
                         f"{e['coverage']:.3f}", recall(e), mcnemar))
            entry[label] = {"accuracy": e["accuracy"], "accuracy_ci": e.get("accuracy_ci"),
                            "balanced_accuracy": e["balanced_accuracy"], "coverage": e["coverage"],
                            "sensitivity": e["sensitivity"], "mcnemar": p}
        entry["kept_vote_accuracy"] = tuned["kept"]["kept_vote_accuracy"]
        entry["dropped_vote_accuracy"] = tuned["kept"]["dropped_vote_accuracy"]
        summary[t] = entry
    head = ("task", "test split", "accuracy [95% CI]", "balanced acc.", "coverage",
            "recall per class", "McNemar b / c vs plain")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    md = "\n".join(lines) + "\n"
    print(md)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(md)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
