#!/usr/bin/env bash
# The main job on data the project makes itself: writes a few synthetic chest radiographs
# (with lung masks) and classifies them with the pneumonia ensemble into out/demo/.
# Run scripts/setup.sh first. On real images: build/bin/ensemble-classify --task T --out DIR IMAGES...
set -euo pipefail
cd "$(dirname "$0")/.."
build/bin/ensemble-phantoms --out out/demo-data --per-class 2 --side 256 --seed 7
build/bin/ensemble-classify --task pneumonia --out out/demo out/demo-data/images
echo "demo: results in out/demo/results.csv, one montage per image in out/demo/montage/"
