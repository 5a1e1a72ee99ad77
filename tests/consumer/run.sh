#!/usr/bin/env bash
# ctest consumer_links_installed_library: install gradgate from BUILD into a fresh prefix,
# build tests/consumer against it with find_package(gradgate), run it, and run an installed
# tool from another working directory. Usage: run.sh BUILD SOURCE WORK IMAGE
set -euo pipefail
build=$1 source=$2 work=$3 image=$4
rm -rf "$work" && mkdir -p "$work"
prefix="$work/prefix"
for component in library data tools; do
  cmake --install "$build" --prefix "$prefix" --component "$component" > /dev/null
done

# The installed API: gradgate's headers only, no Boost.Program_options, no process policy.
test -f "$prefix/include/gradgate/config.h"
test -f "$prefix/lib/cmake/gradgate/gradgateConfig.cmake"
if grep -rl "boost/program_options\|process_policy" "$prefix/include"; then
  echo "FAIL: an installed header includes Boost.Program_options or the process policy" >&2
  exit 1
fi

launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S "$source/tests/consumer" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix" "${launcher[@]}" > "$work/configure.log"
cmake --build "$work/build" -j2 > "$work/build.log" || { cat "$work/build.log"; exit 1; }
env -u OMP_WAIT_POLICY GRADGATE_HOME="$prefix/share/gradgate" "$work/build/consumer" "$image"

# An installed tool finds its data beside it (../share/gradgate), not in the source tree and
# not in the working directory.
out=$(cd / && env -u GRADGATE_HOME -u GRADGATE_CONFIG_DIR "$prefix/bin/ensemble-classify" --list-tasks)
echo "$out"
grep -q "$prefix/share/gradgate/models/pneumonia" <<< "$out" || {
  echo "FAIL: the installed ensemble-classify did not read its data from $prefix/share/gradgate" >&2
  exit 1
}
echo "consumer: ok"
