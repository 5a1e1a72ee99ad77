#!/usr/bin/env bash
# Accuracy benchmarking and gate tuning of the committed members (issue 14), for one task or
# all four: classify the val and test splits (ensemble-bench --data ... --split), bench each
# run, tune the gate on val and report the choice on test (ensemble-tune), then one summary
# table from the tune's bench.json: best member, plain vote, gated vote at the tuned setting,
# each with its 95% interval over patients, coverage and McNemar's test.
#
#   bench/run_accuracy.sh [--tasks pneumonia,bacterial-vs-viral,covid-vs-other,covid-vs-all]
#                         [--data MANIFEST] [--out out/bench] [--reuse] [--min-coverage 0.9]
#                         [--build DIR]
#
# --reuse benches existing runs (<out>/<task>-val/run, <out>/<task>-test/run) from their
# results.jsonl instead of classifying again: nothing is recomputed but the tables, intervals,
# figures and reports. Reports: <out>/<task>-{val,test,tune}/report.html.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/../build"
data="$here/../../shared/data/cxr/manifest.csv"
out="out/bench"
tasks="pneumonia,bacterial-vs-viral,covid-vs-other,covid-vs-all"
reuse=0
min_coverage=0.9
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tasks) tasks="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --reuse) reuse=1; shift ;;
    --min-coverage) min_coverage="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_accuracy.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
bin="$build/bin"
for t in ensemble-bench ensemble-tune; do
  [[ -x "$bin/$t" ]] || { echo "run_accuracy.sh: $bin/$t not built (cmake --build build -j2)" >&2; exit 2; }
done
[[ -f "$data" ]] || { echo "run_accuracy.sh: no data set at $data (--data)" >&2; exit 2; }
mkdir -p "$out"

t_all=$(date +%s)
IFS=',' read -r -a task_list <<< "$tasks"
for t in "${task_list[@]}"; do
  for split in val test; do
    dir="$out/$t-$split"
    t0=$(date +%s)
    if [[ "$reuse" == 1 ]]; then
      [[ -f "$dir/run/results.jsonl" ]] || { echo "run_accuracy.sh: --reuse but no $dir/run/results.jsonl" >&2; exit 2; }
      "$bin/ensemble-bench" --results "$dir/run" --manifest "$data" --out "$dir" > "$dir.txt"
    else
      "$bin/ensemble-bench" --task "$t" --data "$data" --split "$split" --out "$dir" > "$dir.txt"
    fi
    echo "$t $split: $(( $(date +%s) - t0 )) s ($dir/report.html)"
  done
  t0=$(date +%s)
  "$bin/ensemble-tune" --val "$out/$t-val/run" --test "$out/$t-test/run" --manifest "$data" \
    --min-coverage "$min_coverage" --out "$out/$t-tune" > "$out/$t-tune.txt"
  echo "$t tune: $(( $(date +%s) - t0 )) s ($out/$t-tune/report.html)"
done
echo "all: $(( $(date +%s) - t_all )) s"

python3 "$here/accuracy_summary.py" "$out" "${task_list[@]}"
