#!/usr/bin/env bash
# Sanitizer and fuzz runs (#15), each in a build folder of its own, through ccache, -j2 (JOBS):
#   scripts/ci_sanitizers.sh [fuzz] [asan] [tsan]       (no argument: fuzz)
# .ci/run calls it with `asan tsan fuzz` after the normal tests. Needs clang and libclang-rt-14-dev
# (libFuzzer), which scripts/setup.sh installs; gcc's ASan/UBSan/TSan come with build-essential.
#
#  fuzz: build-fuzz (clang, ASan+UBSan+libFuzzer): each of tests/fuzz/fuzz_*.cpp for 60 s
#        (FUZZ_SECONDS) from its committed seed corpus (tests/fuzz/corpus/<name>/, copied:
#        CI adds nothing to it). fuzz_pickle covers the one torch-side reader of hostile bytes
#        (src/zoo/torch_pickle.cpp, compiled alone against libtorch), with leak checks.
#        Measured cold (CCACHE_DISABLE=1) on the 2-core machine at load 10-15 (other sessions'
#        builds and a training job): gradgate_core + 4 fuzzers 6 min 35 s, fuzz_pickle's two
#        TUs about 2 min more; an idle CI machine should be faster. Runs: 5 x 60 s.
#  asan: build-asan (gcc): the torch-free core tests (gradgate_core_tests, `ctest -L core`)
#        under ASan+UBSan with LeakSanitizer on. In CI since 2026-12-07: cold build and 181
#        tests in 9 min 3 s on the idle 2-core machine (ctest 92 s), no report.
#  tsan: build-tsan (gcc): the core tests under TSan, against a TBB built with TSan from
#        Debian's own onetbb source (fetched from deb.debian.org, sha256 pinned; 3 min). In CI
#        since 2026-12-07. With Debian's uninstrumented TBB, TSan reported TBB's own task
#        queues (it missed their happens-before); with TBB instrumented those reports are gone
#        and what is left is inside uninstrumented OpenCV (its parallel loops run on TBB
#        templates compiled into libopencv_core; imgproc/imgcodecs buffers), suppressed with
#        the reasons in tests/tsan.supp. One report was the tests' own (cv::Mat::zeros from
#        four threads reads an OpenCV singleton; test_report.cpp no longer uses it). Measured
#        on the loaded 2-core machine (a training run beside): TBB 3 min, core build 12 min,
#        ctest 6 min, 181/181.
# Not here at all: the torch half (gradgate_tests, the tools) under a sanitizer, the issue's
# "whole suite": a second full build of every torch TU plus a 300 s suite, which could not be
# built and measured in this session. LibTorch, OpenCV, TBB, yaml-cpp and libgomp are
# Debian's, not instrumented: ASan sees their malloc/free and our accesses, TSan misses the
# happens-before edges they make (so torch tests under TSan would report torch's pools too).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2}"
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(fuzz)
want() { [[ " ${steps[*]} " == *" $1 "* ]]; }

step() { echo "ci_sanitizers: $* ($(date -u +%T))"; }

if want asan; then
step "ASan+UBSan build (core tests)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DGRADGATE_SANITIZE=address
cmake --build build-asan -j "$JOBS" --target gradgate_core_tests
step "ASan+UBSan tests (core)"
# The first report fails the test; UBSan aborts (-fno-sanitize-recover=undefined).
ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  ctest --test-dir build-asan --output-on-failure -j2 -L core
fi

if want tsan; then
# TBB built with TSan from Debian's own source of the installed libtbb12 (2021.8.0, checksum
# pinned), so TSan sees the happens-before edges of TBB's task queues and joins. It is loaded
# first (LD_LIBRARY_PATH) for OpenCV's TBB-backed parallel loops too: same soname libtbb.so.12.
tbb_ver=2021.8.0
tbb_sha=7e9111b8bb59c8800bf6d0b06afe7b0891937443d2dae1ee1101c8e2ede6a7ef
tbb_dir="$PWD/build-tsan/onetbb-tsan"
if [ ! -f "$tbb_dir/lib/libtbb.so.12" ]; then
  step "TSan TBB $tbb_ver (Debian's onetbb source)"
  mkdir -p build-tsan
  tarball="build-tsan/onetbb_$tbb_ver.orig.tar.xz"
  [ -f "$tarball" ] || curl -fsSL -o "$tarball" \
    "http://deb.debian.org/debian/pool/main/o/onetbb/onetbb_$tbb_ver.orig.tar.xz"
  echo "$tbb_sha  $tarball" | sha256sum -c -
  rm -rf "build-tsan/oneTBB-$tbb_ver" && tar xf "$tarball" -C build-tsan
  cmake -S "build-tsan/oneTBB-$tbb_ver" -B build-tsan/onetbb-build -DTBB_SANITIZE=thread \
    -DTBB_TEST=OFF -DTBB_EXAMPLES=OFF -DTBB_STRICT=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_INSTALL_PREFIX="$tbb_dir" -DCMAKE_INSTALL_LIBDIR=lib
  cmake --build build-tsan/onetbb-build -j "$JOBS"
  cmake --install build-tsan/onetbb-build
fi
step "TSan build (core tests)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Release -DGRADGATE_SANITIZE=thread \
  -DTBB_DIR="$tbb_dir/lib/cmake/TBB"
cmake --build build-tsan -j "$JOBS" --target gradgate_core_tests
step "TSan tests (core)"
LD_LIBRARY_PATH="$tbb_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
  ctest --test-dir build-tsan --output-on-failure -j2 -L core
fi

if want fuzz; then
step "fuzz build"
CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADGATE_FUZZ=ON
fuzzers=()
for f in tests/fuzz/fuzz_*.cpp; do fuzzers+=("$(basename "$f" .cpp)"); done
cmake --build build-fuzz -j "$JOBS" --target "${fuzzers[@]}"
for fz in "${fuzzers[@]}"; do
  name="${fz#fuzz_}"
  step "$fz for ${FUZZ_SECONDS} s"
  work="build-fuzz/ci-corpus/$name"
  rm -rf "$work" && mkdir -p "$work" && cp tests/fuzz/corpus/"$name"/* "$work"/
  "build-fuzz/bin/$fz" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/ci-$name-" "$work"
done
fi
step "done"
