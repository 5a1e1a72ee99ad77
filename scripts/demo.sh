#!/usr/bin/env bash
# The main job on real films: classifies the eight chest X-rays in demo/ (Kermany children's
# test films and two adult COVID-19 films from Hannover; licences in demo/LICENSES.md) with the
# trained pneumonia ensemble into out/demo/. Their lung masks come from the U-Net (the demo
# films have no mask files). Run scripts/setup.sh first.
# On your own images: build/bin/ensemble-classify --task T --out DIR IMAGES-OR-FOLDERS...
set -euo pipefail
cd "$(dirname "$0")/.."
build/bin/ensemble-classify --task pneumonia --out out/demo demo/manifest.csv
echo "demo: results in out/demo/results.csv, one montage per film in out/demo/montage/"
