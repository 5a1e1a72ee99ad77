#!/usr/bin/env bash
# Data-parallel training speed (issue 17): one member trained on a real task by 1 process with
# 1 thread, then by 2 processes (ranks) with 1 thread each, on this machine; the training
# images per second that ensemble-train reports (forward + backward + all-reduce, the epoch's
# batches only: not the validation pass) and their ratio, measured in one run.
#
#   bench/run_dist_speed.sh [--build DIR] [--task T] [--data MANIFEST] [--member M]
#                           [--epochs 1] [--batch 16] [--reps 1] [--keep DIR]
#
# Defaults: covid-vs-all on ../shared/data/cxr/manifest.csv (4,901 training films), resnet18 at
# the compact preset (128 px), 1 epoch, batch 16 (8 per rank on 2 ranks). Images are read and
# resized on each rank from disk in the first epoch (each rank reads only its rows), as in a
# real first epoch. Each configuration runs --reps times, alternating; the table gives each
# run and the median ratio, and the machine's ceiling: two independent one-process trainings
# run at the same time (no communication at all), their summed rate over one alone. Nothing
# else should run on the machine meanwhile.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/../build"
task=covid-vs-all
data="$here/../../shared/data/cxr/manifest.csv"
member=resnet18
epochs=1
batch=16
reps=1
keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --task) task="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --member) member="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run_dist_speed.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
exe="$build/bin/ensemble-train"
[[ -x "$exe" ]] || { echo "run_dist_speed.sh: $exe not built (cmake --build build -j2)" >&2; exit 2; }
[[ -f "$data" ]] || { echo "run_dist_speed.sh: no data set at $data (--data)" >&2; exit 2; }
work="${keep:-$(mktemp -d)}"
mkdir -p "$work"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT

common=(--task "$task" --data "$data" --members "$member" --epochs "$epochs" --batch "$batch"
        --threads 1 --no-domain --restart --cache-mb 4096 --weights-dtype float32)

# img/s of the member's row in ensemble-train's table (the column before train-s).
rate_of() { awk -v m="$member" '$1 == m { print $(NF-1) }' "$1"; }
# The last epoch's img/s from the log's "images/s by epoch" note (cached images from epoch 2).
last_rate_of() { tr '\r' '\n' < "$1" | sed -n 's/.*images\/s by epoch: //p' | awk -F', ' '{ print $NF }' | tail -1; }

port=$((29600 + RANDOM % 300))
rates1=(); rates2=(); last1=(); last2=(); pairs=()
for ((r = 1; r <= reps; r++)); do
  out1="$work/one-$r"
  "$exe" "${common[@]}" --out "$out1" > "$out1.txt" 2> "$out1.log" \
    || { cat "$out1.log" >&2; exit 1; }
  rates1+=("$(rate_of "$out1.txt")")
  last1+=("$(last_rate_of "$out1.log")")
  out2="$work/two-$r"
  port=$((port + 1))
  "$exe" "${common[@]}" --out "$out2" --quiet --world-size 2 --rank 1 --master-port "$port" \
    > "$out2.r1.txt" 2> "$out2.r1.log" &
  pid1=$!
  "$exe" "${common[@]}" --out "$out2" --world-size 2 --rank 0 --master-port "$port" \
    > "$out2.txt" 2> "$out2.log" || { cat "$out2.log" >&2; exit 1; }
  wait "$pid1" || { cat "$out2.r1.log" >&2; exit 1; }
  rates2+=("$(rate_of "$out2.txt")")
  last2+=("$(last_rate_of "$out2.log")")
  # The machine's own ceiling: two independent one-process trainings at once (no collective,
  # nothing shared but the cores, caches and memory): the sum of their rates.
  outa="$work/pair-a-$r"; outb="$work/pair-b-$r"
  "$exe" "${common[@]}" --out "$outa" > "$outa.txt" 2> "$outa.log" &
  pida=$!
  "$exe" "${common[@]}" --out "$outb" --seed 2 > "$outb.txt" 2> "$outb.log" || { cat "$outb.log" >&2; exit 1; }
  wait "$pida" || { cat "$outa.log" >&2; exit 1; }
  pairs+=("$(awk -v a="$(rate_of "$outa.txt")" -v b="$(rate_of "$outb.txt")" 'BEGIN { printf "%.1f", a + b }')")
done

echo "data-parallel training, $member ($task, compact, batch $batch, $epochs epoch(s)), $(nproc) cores"
printf '%-4s %16s %16s %8s %24s %8s\n' rep "1 rank img/s" "2 ranks img/s" ratio "2 independent (sum)" ceiling
ratios=()
for ((i = 0; i < reps; i++)); do
  ratio=$(awk -v a="${rates1[$i]}" -v b="${rates2[$i]}" 'BEGIN { printf "%.2f", b / a }')
  ratios+=("$ratio")
  printf '%-4s %16s %16s %8s %24s %8s\n' "$((i + 1))" "${rates1[$i]}" "${rates2[$i]}" "$ratio" "${pairs[$i]}" \
    "$(awk -v a="${rates1[$i]}" -v b="${pairs[$i]}" 'BEGIN { printf "%.2f", b / a }')"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median ratio, 2 ranks / 1 rank: $median (target >= 1.7)"
if [[ "$epochs" -gt 1 ]]; then
  echo "last epoch only (images from the cache, no decoding):"
  printf '%-4s %16s %16s %8s\n' rep "1 rank img/s" "2 ranks img/s" ratio
  for ((i = 0; i < reps; i++)); do
    printf '%-4s %16s %16s %8s\n' "$((i + 1))" "${last1[$i]}" "${last2[$i]}" \
      "$(awk -v a="${last1[$i]}" -v b="${last2[$i]}" 'BEGIN { printf "%.2f", b / a }')"
  done
fi
# Per-epoch rates (the first epoch reads from disk) and rank 0's wait for the all-reduce.
for f in "$work"/one-*.log "$work"/two-*.log; do
  tr '\r' '\n' < "$f" | grep -h "images/s by epoch\|all-reduce" | sed "s|^|  $(basename "$f" .log): |" || true
done
