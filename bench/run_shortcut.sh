#!/usr/bin/env bash
# The shortcut benchmark (issue 12), one command, seeded: plants markers clear of the lungs in
# real chest X-rays (going with one class in training), trains members on them, classifies the
# clean and the reversed test split with the maps saved, and prints per member and per gate
# criterion how well the gate catches the members that looked at the marker.
#
#   bench/run_shortcut.sh [--data ../shared/data/cxr/manifest.csv] [--work /work/runs/shortcut]
#                         [--members alexnet,resnet18,googlenet,mobilenetv2,darknet19,squeezenet]
#                         [--task pneumonia] [--rate 0.95] [--seed 1] [--epochs 6] [--preset compact]
#                         [--lung-penalty 0] [--cam gradcam] [--build build]
#
# With --lung-penalty W > 0 the members train with ensemble-train's lung penalty into
# <work>/models-lpW (classify runs <work>/classify-lpW-<split>), beside the plain ones, on the
# same planted data, so the two are compared image for image. With --cam M (saliency,
# hirescam, gradcampp) the classify runs explain with that method instead of Grad-CAM, into
# <work>/classify-[lpW-]M-<split>: the same members, judged on other maps.
#
# Every step resumes: the data folder is made once, ensemble-train keeps finished members, and
# a classify run is redone only when its results.csv is missing. Takes about an hour on two
# cores at the compact preset for six members.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${GRADGATE_CXR_DATA:-$here/../../shared/data/cxr}/manifest.csv"
work="$here/../runs/shortcut"
members="alexnet,resnet18,googlenet,mobilenetv2,darknet19,squeezenet"
task=pneumonia
rate=0.95
seed=1
epochs=6
preset=compact
penalty=0
cam=gradcam
build="$here/../build"
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --task) task="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --preset) preset="$2"; shift 2 ;;
    --lung-penalty) penalty="$2"; shift 2 ;;
    --cam) cam="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "run_shortcut.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$build/bin"
for tool in shortcut-data ensemble-train ensemble-classify shortcut-report; do
  [ -x "$bin/$tool" ] || { echo "run_shortcut.sh: $bin/$tool not built (bash scripts/setup.sh)" >&2; exit 2; }
done
[ -f "$data" ] || { echo "run_shortcut.sh: no data manifest at $data (--data)" >&2; exit 2; }

set_dir="$work/data"
variant=""
if [ "$penalty" != "0" ]; then variant="lp$penalty-"; fi
models="$work/models${variant:+-${variant%-}}"
mkdir -p "$work"
if [ ! -f "$set_dir/manifest.csv" ]; then
  "$bin/shortcut-data" --data "$data" --out "$set_dir" --task "$task" --rate "$rate" --seed "$seed"
fi
"$bin/ensemble-train" --task "$task" --data "$set_dir/manifest.csv" --out "$models" \
  --members "$members" --preset "$preset" --epochs "$epochs" --patience 3 --seed "$seed" \
  --lung-penalty "$penalty" --quiet
runs="$variant"
if [ "$cam" != "gradcam" ]; then runs="$variant$cam-"; fi
for split in clean reversed; do
  out="$work/classify-$runs$split"
  if [ ! -f "$out/results.csv" ]; then
    # tau 0: every judgeable member votes in the run; the report applies each gate itself.
    "$bin/ensemble-classify" --task "$task" --models "$models" --tau 0 --quorum 1 --save-maps --cam "$cam" \
      --no-overlays --no-montage --no-progress --out "$out" "$set_dir/test-$split.csv"
  fi
done
"$bin/shortcut-report" --data "$set_dir" --clean "$work/classify-${runs}clean" \
  --reversed "$work/classify-${runs}reversed"
