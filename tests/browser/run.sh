#!/usr/bin/env bash
# ctest `reports_open_in_browser` (issue 14): ensemble-bench and ensemble-tune write their
# reports for the demo films (classified by the committed pneumonia members), and each must
# open in headless Chromium with no console error, no failed load and every figure decoded
# (check_report.py, which also saves screenshots). Then a damaged copy (a figure deleted, a
# script logging an error) must be caught: the check can fail.
#   run.sh BIN_DIR SOURCE_DIR WORK_DIR          exit 77 (skipped) without Chromium
set -euo pipefail
bin="$1"; src="$2"; work="$3"
check="$src/tests/browser/check_report.py"
command -v chromium > /dev/null || command -v chromium-browser > /dev/null || [[ -n "${CHROMIUM:-}" ]] || {
  echo "SKIPPED: no chromium on PATH (scripts/setup.sh installs it)"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
"$bin/ensemble-bench" --task pneumonia --data "$src/demo/manifest.csv" --split test \
  --out "$work/bench" --bootstrap 200 > "$work/bench.txt"
"$bin/ensemble-tune" --val "$work/bench/run" --test "$work/bench/run" --manifest "$src/demo/manifest.csv" \
  --bootstrap 200 --out "$work/tune" > "$work/tune.txt"
python3 "$check" "$work/bench/report.html" "$work/tune/report.html" --screenshot-dir "$work/screenshots"
for f in "$work"/screenshots/*.png; do [[ -s "$f" ]] || { echo "empty screenshot $f"; exit 1; }; done

# The check must be able to fail: a missing figure and a console error.
cp -r "$work/bench" "$work/damaged"
fig=$(ls "$work/damaged/figures" | head -1)
rm "$work/damaged/figures/$fig"
sed -i 's|</body>|<script>console.error("planted error")</script></body>|' "$work/damaged/report.html"
if python3 "$check" "$work/damaged/report.html" --screenshot-dir "$work/screenshots" 2> "$work/damaged.err"; then
  echo "FAILED: the damaged report passed the check"; exit 1
fi
grep -q "image did not load: figures/$fig" "$work/damaged.err" || { echo "missing figure not named:"; cat "$work/damaged.err"; exit 1; }
grep -q "planted error" "$work/damaged.err" || { echo "console error not named:"; cat "$work/damaged.err"; exit 1; }
echo "reports open cleanly in $(chromium --version 2>/dev/null | head -1); the damaged copy was caught"
