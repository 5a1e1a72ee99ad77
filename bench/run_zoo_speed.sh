#!/usr/bin/env bash
# Forward-pass speed of the zoo, C++ (zoo-speed) against Python/torchvision (zoo_speed.py),
# in one run and one table (issue 3). Per member, the two sides alternate C++,Py,Py,C++,...
# so drift in the machine's load hits both alike; each figure is the median over repetitions.
#
#   bench/run_zoo_speed.sh [--build DIR] [--reps N] [--members a,b] [--presets full,compact,tiny]
#                          [--batches 1,8] [--threads 2] [--min-time 2] [--warmup 2]
#                          [--min-iters 3] [--wait-policy passive|active|default]
#                          [--malloc same|default|shipped] [--keep FILE]
#
# --wait-policy sets OMP_WAIT_POLICY for both sides (default passive). libgomp's default spins
# after each parallel region; when other processes hold the cores, a spinning thread waits for a
# descheduled one and 2-thread forwards become ~10x slower and very noisy. "default" leaves the
# environment as it is. --malloc (default same) gives both sides the allocator settings the
# gradgate executables use (speed_common.sh, speed_malloc).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=speed_common.sh
source "$here/speed_common.sh"
build="$here/../build"
reps=2
members=all
presets=full,compact
batches=1,8
threads=2
min_time=2
warmup=2
min_iters=3
keep=""
wait_policy=passive
malloc_policy=same

while [[ $# -gt 0 ]]; do
  case "$1" in
    --presets) presets="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *)
      if speed_common_option "$1" "${2-}"; then shift 2
      else echo "run_zoo_speed.sh: unknown option '$1' (see --help)" >&2; exit 2; fi ;;
  esac
done

speed_prepare run_zoo_speed.sh zoo-speed

if [[ "$members" == all ]]; then
  # The registry's order, from the Python side's copy (checked against the C++ list below).
  members="$("$python" -c "import sys; sys.path.insert(0, '$here'); import zoo_speed; print(','.join(m[0] for m in zoo_speed.MEMBERS))")"
fi

out="${keep:-$(mktemp /tmp/zoo_speed.XXXXXX.tsv)}"
: > "$out"
common=(--batches "$batches" --threads "$threads" --min-time "$min_time" --warmup "$warmup"
        --min-iters "$min_iters")

speed_machine_info "$threads" "$out"

run_cpp() { "$exe" --members "$1" --presets "$presets" "${common[@]}" | tee -a "$out" | grep -v '^INFO' >&2 || true; }
run_py() { "$python" "$here/zoo_speed.py" --members "$1" --presets full "${common[@]}" | tee -a "$out" | grep -v '^INFO' >&2 || true; }

speed_abba "$reps" "$members" run_cpp run_py

echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" "$here/zoo_speed.py" --summarize "$out"
