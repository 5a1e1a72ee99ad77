#!/usr/bin/env bash
# Training speed of the members, C++ (train-speed) against Python/torchvision (train_speed.py),
# in one run and one table (issue 5). Full-width members (torchvision's architectures) at a
# reduced input side, one training step = zero_grad, forward, cross-entropy, backward, AdamW.
# Per member the two sides alternate C++,Py,Py,C++,...; each figure is the median over reps.
#
#   bench/run_train_speed.sh [--build DIR] [--reps N] [--members a,b] [--side 128] [--batch 16]
#                            [--threads 1] [--min-time 3] [--warmup 1] [--min-iters 3]
#                            [--wait-policy passive|active|default] [--malloc same|default|shipped]
#                            [--keep FILE]
#
# Defaults: the 12 members torchvision builds, side 128 (inceptionv3: 160), batch 16, 1 thread
# (what each member gets when ensemble-train trains two at once), 2 reps, OMP_WAIT_POLICY=passive,
# --malloc same (both sides with gradgate's allocator settings; speed_common.sh, speed_malloc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=speed_common.sh
source "$here/speed_common.sh"
build="$here/../build"
reps=2
members=""
side=128
batch=16
threads=1
min_time=3
warmup=1
min_iters=3
keep=""
wait_policy=passive
malloc_policy=same

while [[ $# -gt 0 ]]; do
  case "$1" in
    --side) side="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *)
      if speed_common_option "$1" "${2-}"; then shift 2
      else echo "run_train_speed.sh: unknown option '$1' (see --help)" >&2; exit 2; fi ;;
  esac
done

speed_prepare run_train_speed.sh train-speed

if [[ -z "$members" ]]; then
  members="$("$python" -c "import sys; sys.path.insert(0, '$here'); import train_speed; print(train_speed.DEFAULT_MEMBERS)")"
fi

out="${keep:-$(mktemp /tmp/train_speed.XXXXXX.tsv)}"
: > "$out"
common=(--side "$side" --batch "$batch" --threads "$threads" --min-time "$min_time"
        --warmup "$warmup" --min-iters "$min_iters")

speed_machine_info "$threads" "$out"
echo "# training step: batch $batch at side $side (inceptionv3: max(side, 160)), 2 classes, AdamW lr 1e-3 wd 1e-4"

run_cpp() { "$exe" --members "$1" "${common[@]}" | tee -a "$out" | grep -v '^INFO' >&2 || true; }
run_py() { "$python" "$here/train_speed.py" --members "$1" "${common[@]}" | tee -a "$out" | grep -v '^INFO' >&2 || true; }

speed_abba "$reps" "$members" run_cpp run_py

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Same line format as zoo-speed: one table (img/s = training images per second).
"$python" "$here/zoo_speed.py" --summarize "$out"
