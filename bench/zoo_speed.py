#!/usr/bin/python3
"""Python/torchvision counterpart of zoo-speed (issue 3), and the table that compares them.

Timing mode (default) prints the same tab-separated lines as bench/zoo_speed.cpp:
  RESULT py <member> <preset> <batch> <side> <width> <median_ms> <images_per_s> <iters>
  NA     py <member> <preset> <batch> <side> <width> <reason>
Only the `full` preset is timed here: torchvision has no width multiplier for most members,
so a `compact` Python figure would measure a different network.

--summarize FILE reads the lines both programs wrote (run_zoo_speed.sh collects them, several
repetitions interleaved) and prints one table with the median over repetitions.

Must run with /usr/bin/python3 (Debian's torch 1.13 / torchvision 0.14, the same libtorch_cpu
the C++ side links).
"""
import argparse
import statistics
import sys
import time

# registry.cpp's members: name -> (torchvision constructor, native side). Members torchvision
# lacks are listed with None so the table can say so. Kept in the registry's order.
MEMBERS = [
    ("alexnet", "alexnet", 224),
    ("vgg16", "vgg16", 224),
    ("vgg19", "vgg19", 224),
    ("squeezenet", "squeezenet1_1", 224),
    ("googlenet", "googlenet", 224),
    ("googlenet-places", "googlenet", 224),
    ("inceptionv3", "inception_v3", 299),
    ("inceptionresnetv2", None, 299),
    ("resnet18", "resnet18", 224),
    ("resnet50", "resnet50", 224),
    ("resnet101", "resnet101", 224),
    ("densenet201", "densenet201", 224),
    ("mobilenetv2", "mobilenet_v2", 224),
    ("shufflenet", "shufflenet_v2_x1_0", 224),
    ("xception", None, 299),
    ("nasnetmobile", None, 224),
    ("nasnetlarge", None, 331),
    ("darknet19", None, 256),
    ("darknet53", None, 256),
]


def build(tv_name, **kwargs):
    """torchvision.models.<tv_name>(weights=None, **kwargs), e.g. num_classes=2."""
    import torchvision.models as tvm

    ctor = getattr(tvm, tv_name)
    if tv_name in ("googlenet", "inception_v3"):
        # As the C++ members: no auxiliary classifiers, scratch initialisation.
        return ctor(weights=None, aux_logits=False, init_weights=True, **kwargs)
    return ctor(weights=None, **kwargs)


def time_calls(fn, warmup, min_time, min_iters, max_iters):
    """Warm-up calls, then timed calls until min_time seconds and min_iters calls (or
    max_iters); returns (median seconds per call, calls timed). As bench_util.h's time_calls."""
    for _ in range(warmup):
        fn()
    per_iter = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        per_iter.append(t1 - t0)
        n = len(per_iter)
        if (t1 - start >= min_time and n >= min_iters) or n >= max_iters:
            break
    return statistics.median(per_iter), len(per_iter)


def run(args):
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"INFO\tpy\tthreads={torch.get_num_threads()} "
          f"interop_threads={torch.get_num_interop_threads()} "
          f"mkldnn={'on' if torch.backends.mkldnn.enabled else 'off'} torch={torch.__version__}",
          flush=True)
    known = {m[0]: m for m in MEMBERS}
    names = [m[0] for m in MEMBERS] if args.members == "all" else args.members.split(",")
    for name in names:
        if name not in known:
            sys.exit(f"zoo_speed.py: unknown member '{name}'; valid: {', '.join(known)}")
    for name in names:
        _, tv_name, side = known[name]
        for preset in args.presets.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                key = f"py\t{name}\t{preset}\t{batch}\t{side}\t1"
                if preset != "full":
                    continue  # see the module docstring
                if tv_name is None:
                    print(f"NA\t{key}\tnot in torchvision", flush=True)
                    continue
                try:
                    model = build(tv_name).eval()
                    with torch.inference_mode():
                        x = torch.randn(batch, 3, side, side)
                        med, iters = time_calls(lambda: model(x), args.warmup, args.min_time,
                                                args.min_iters, args.max_iters)
                    print(f"RESULT\t{key}\t{med * 1e3:.3f}\t{batch / med:.3f}\t{iters}", flush=True)
                except Exception as e:  # report and go on with the next member
                    print(f"NA\t{key}\t{str(e).splitlines()[0]}", flush=True)


def summarize(path, out=sys.stdout):
    """One row per (member, preset, batch): median images/s over repetitions on each side."""
    rows = {}  # (member, preset, batch) -> {"cpp": [...], "py": [...], "na_cpp": str, ...}
    info = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "INFO":
                if parts[1:] not in info:
                    info.append(parts[1:])
                continue
            if parts[0] not in ("RESULT", "NA") or len(parts) < 7:
                continue
            side, member, preset, batch, px, width = parts[1:7]
            r = rows.setdefault((member, preset, int(batch)),
                                {"cpp": [], "py": [], "na_cpp": "", "na_py": "", "px": px, "width": width})
            if side == "cpp":
                r["px"], r["width"] = px, width
            if parts[0] == "RESULT":
                r[side].append(float(parts[8]))
            else:
                r["na_" + side] = parts[7] if len(parts) > 7 else "n/a"
    for i in info:
        print(f"# {i[0]}: {i[1]}", file=out)
    order = {m[0]: i for i, m in enumerate(MEMBERS)}
    preset_order = {"full": 0, "compact": 1}
    keys = sorted(rows, key=lambda k: (order.get(k[0], 99), preset_order.get(k[1], 9), k[2]))

    def cell(values, na):
        if not values:
            return f"n/a ({na})" if na else "-"
        return f"{statistics.median(values):.2f}"

    def spread(values):
        # (max-min)/median over repetitions: how noisy this figure was.
        if len(values) < 2:
            return "-"
        m = statistics.median(values)
        return f"{100 * (max(values) - min(values)) / m:.0f}%"

    header = ("member", "preset", "side", "width", "batch", "cpp img/s", "spread", "py img/s", "spread",
              "cpp/py", "best cpp/py", "reps")
    table = [header]
    slower = []
    compared = set()
    for k in keys:
        r = rows[k]
        ratio = best = "-"
        if r["cpp"] and r["py"]:
            # Best over repetitions: other processes only ever slow a run down, so the fastest
            # repetition is the least disturbed one on this shared machine.
            best = f"{max(r['cpp']) / max(r['py']):.2f}"
            q = statistics.median(r["cpp"]) / statistics.median(r["py"])
            ratio = f"{q:.2f}"
            compared.add(k[0])
            if q < 1.0:
                slower.append((k, q))
        table.append((k[0], k[1], r["px"], r["width"], str(k[2]), cell(r["cpp"], r["na_cpp"]),
                      spread(r["cpp"]), cell(r["py"], r["na_py"]) if k[1] == "full" else "-",
                      spread(r["py"]), ratio, best, f"{len(r['cpp'])}/{len(r['py'])}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for j, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
        if j == 0:
            print("  ".join("-" * w for w in widths), file=out)
    print(file=out)
    if slower:
        print("C++ slower than Python (median cpp/py < 1): " +
              ", ".join(f"{m} {p} b{b} ({q:.2f})" for (m, p, b), q in slower), file=out)
    elif compared:
        print(f"C++ at least as fast as Python for all {len(compared)} members measured on both sides.",
              file=out)
    else:
        print("No member was measured on both sides.", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", default="all", help="comma-separated member names, or all")
    ap.add_argument("--presets", default="full", help="comma-separated presets (only full is timed)")
    ap.add_argument("--batches", default="1,8", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--max-iters", type=int, default=1000)
    ap.add_argument("--summarize", metavar="FILE", help="print the comparison table from collected lines")
    args = ap.parse_args()
    if args.summarize:
        summarize(args.summarize)
    else:
        run(args)


if __name__ == "__main__":
    main()
