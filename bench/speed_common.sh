# Shared by bench/run_zoo_speed.sh and bench/run_train_speed.sh (sourced, not run).

# Debian's torch 1.13 / torchvision 0.14 (the libtorch_cpu the C++ side links), not the pyenv
# python on PATH.
python=/usr/bin/python3

# speed_common_option OPTION VALUE: stores one of the options both scripts take (--build,
# --reps, --members, --threads, --min-time, --warmup, --min-iters, --keep, --wait-policy,
# --malloc) in the caller's variable of that name; returns 1 for any other option.
speed_common_option() {
  case "$1" in
    --build) build="$2" ;;
    --reps) reps="$2" ;;
    --members) members="$2" ;;
    --threads) threads="$2" ;;
    --min-time) min_time="$2" ;;
    --warmup) warmup="$2" ;;
    --min-iters) min_iters="$2" ;;
    --keep) keep="$2" ;;
    --wait-policy) wait_policy="$2" ;;
    --malloc) malloc_policy="$2" ;;
    *) return 1 ;;
  esac
}

# speed_prepare SCRIPT TARGET: after the options, applies --wait-policy and --malloc and sets
# exe to the built TARGET under $build (exits 2 naming the build command when it is missing).
speed_prepare() {
  speed_wait_policy "$wait_policy" "$1"
  speed_malloc "$malloc_policy" "$1"
  exe="$build/bin/$2"
  if [[ ! -x "$exe" ]]; then
    echo "$1: $exe not found; build first: cmake --build $build --target $2" >&2
    exit 2
  fi
}

# speed_wait_policy POLICY SCRIPT: exports OMP_WAIT_POLICY for both sides. libgomp's default
# spins after each parallel region; when other processes hold the cores a spinning thread
# waits for a descheduled one (~10x slower, very noisy). "default" leaves the environment.
speed_wait_policy() {
  case "$1" in
    passive|PASSIVE) export OMP_WAIT_POLICY=PASSIVE ;;
    active|ACTIVE) export OMP_WAIT_POLICY=ACTIVE ;;
    default) ;;
    *) echo "$2: --wait-policy must be passive, active or default" >&2; exit 2 ;;
  esac
}

# speed_malloc POLICY SCRIPT: the same glibc allocator settings for both sides. The gradgate
# executables keep freed memory for reuse (process_policy.h: mmap threshold 1 GiB, no trim,
# one arena); "same" gives Python those settings through glibc's environment variables, so
# the two sides differ only in their code. "default" gives both glibc's defaults (C++ through
# GRADGATE_MALLOC=default). "shipped" leaves each side as a user runs it: gradgate tuned,
# Python at glibc's defaults.
speed_malloc() {
  case "$1" in
    same) export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483647 MALLOC_ARENA_MAX=1 ;;
    default) export GRADGATE_MALLOC=default ;;
    shipped) ;;
    *) echo "$2: --malloc must be same, default or shipped" >&2; exit 2 ;;
  esac
}

# speed_machine_info THREADS RAW_FILE: what the figures depend on, as '#' lines.
speed_machine_info() {
  echo "# BLAS: libblas.so.3 -> $(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo '?')"
  echo "# LAPACK: liblapack.so.3 -> $(readlink -f /etc/alternatives/liblapack.so.3-x86_64-linux-gnu 2>/dev/null || echo '?')"
  echo "# cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# threads per side: $1; OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset} OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset}"
  echo "# allocator: GRADGATE_MALLOC=${GRADGATE_MALLOC:-tuned} MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-unset} MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-unset} MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-unset}"
  echo "# raw lines: $2"
}

# speed_abba REPS MEMBERS RUN_CPP RUN_PY: for each member of the comma-separated list, calls
# RUN_CPP <member> and RUN_PY <member> REPS times in ABBA order (C++ first on even
# repetitions, Python first on odd ones), so drift in the machine's load hits both alike.
speed_abba() {
  local reps="$1" m r
  local -a member_list
  IFS=, read -r -a member_list <<< "$2"
  for m in "${member_list[@]}"; do
    for ((r = 0; r < reps; ++r)); do
      if (( r % 2 == 0 )); then "$3" "$m"; "$4" "$m"; else "$4" "$m"; "$3" "$m"; fi
    done
  done
}
