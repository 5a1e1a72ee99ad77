#!/usr/bin/env bash
# One-command set-up for a fresh Debian bookworm machine (run as root, or with sudo):
# installs every package the build, the tests and the benchmarks need, then builds gradgate
# into build/. Running it again is harmless: apt skips what is there, cmake rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ccache pkg-config
  libtorch-dev libopencv-dev libtbb-dev libyaml-cpp-dev libboost-program-options-dev
  libgtest-dev
  # DICOM input (src/image/dicom.cpp): DCMTK reads the files and decodes JPEG/JPEG-LS/RLE.
  libdcmtk-dev
  # Gloo's headers: src/distributed/comm.cpp includes c10d's ProcessGroupGloo.hpp, which
  # includes them (libtorch links Debian's libgloo0 already).
  libgloo-dev
  # `ip netns` for the two-host test of distributed training (tests/test_distributed.cpp).
  iproute2
  # JSON for ensemble-bench and ensemble-tune (header-only).
  nlohmann-json3-dev
  # OpenBLAS replaces the reference BLAS behind libblas.so.3: torch's fully connected layers
  # and small convolutions run 2-5x faster on it (see README, "Figures").
  libopenblas0-pthread
  # Python torch/torchvision (same versions as libtorch) give the parity references in tests
  # and the Python side of the speed benchmark.
  python3 python3-numpy python3-torch python3-torchvision
  # PIL for bench/domain_thumbnails.py (also a dependency of python3-torchvision).
  python3-pil
  # Headless Chromium: tests/browser/check_report.py opens the bench/tune reports in it.
  chromium
  # The fuzz build of CI (scripts/ci_sanitizers.sh): clang and its libFuzzer/sanitizer
  # runtimes (only recommended by clang-14, so named here). gcc's sanitizers need nothing more.
  clang libclang-rt-14-dev
  # CI's TSan step fetches Debian's onetbb source tarball and builds TBB with TSan.
  curl xz-utils ca-certificates
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

JOBS="${JOBS:-$(nproc)}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS"
echo "setup: built gradgate into build/ (tools in build/bin/)"
