#!/usr/bin/env bash
# Runs a Python reference script with Debian's python3 when it has torch + torchvision;
# otherwise says so and succeeds, so the C++ parity tests skip with that message.
script="$1"; shift
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c "import torch, torchvision" >/dev/null 2>&1; then
  echo "python torch/torchvision not found: parity references not made, parity tests will skip"
  exit 0
fi
exec "$PY" "$script" "$@"
