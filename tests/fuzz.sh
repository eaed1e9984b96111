#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build/fuzz, then
# for each target:
#   1. replays every input in tests/fuzz/corpus/<x>/ once (regression cases);
#   2. fuzzes for FUZZ_SECONDS (default 30) into a scratch corpus,
#      build/fuzz/work/<x>/corpus, seeded from tests/fuzz/corpus/<x>/ (read
#      only: nothing is ever written into the repository).
# Exits non-zero if the build fails, a regression input fails or fuzzing
# finds a crash, leak, timeout or out-of-memory; the failing input's path is
# printed. See docs/fuzzing.md.
#
#   tests/fuzz.sh                     every target
#   tests/fuzz.sh csv record_decoder  some targets
#   FUZZ_SECONDS=0 tests/fuzz.sh      build and replay the corpora only
#
# Environment: FUZZ_SECONDS (default 30), FUZZ_CC / FUZZ_CXX (default
# clang-14 / clang++-14), FUZZ_JOBS (build parallelism, default nproc).
# Needs the project's dependencies (cmake/install-deps.sh) plus clang-14 and
# libclang-rt-14-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=$root/build/fuzz
corpus_root=$root/tests/fuzz/corpus
# Every target with a corpus folder: the host's and each importer's.
mapfile -t all_targets < <(cd "$corpus_root" && ls -d -- */ | sed 's|/$||')

fuzz_seconds=${FUZZ_SECONDS:-30}
cc=${FUZZ_CC:-clang-14}
cxx=${FUZZ_CXX:-clang++-14}
jobs=${FUZZ_JOBS:-$(nproc)}
# libFuzzer's per-input limits; an input over either is a finding.
timeout_s=10
rss_mb=2048

if ! [[ $fuzz_seconds =~ ^[0-9]+$ ]]; then
  echo "fuzz: FUZZ_SECONDS must be a whole number of seconds (got '$fuzz_seconds')" >&2
  exit 2
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if [[ " ${all_targets[*]} " != *" $t "* ]]; then
    echo "fuzz: unknown target '$t' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done

# --- toolchain ---------------------------------------------------------------
for tool in "$cc" "$cxx" cmake ninja; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz: '$tool' not found; on Debian 12: apt-get install clang-14 libclang-rt-14-dev cmake ninja-build" >&2
    exit 2
  fi
done
runtime_dir=$("$cxx" -print-runtime-dir 2>/dev/null || true)
if ! ls "$runtime_dir"/libclang_rt.fuzzer*.a >/dev/null 2>&1 &&
   ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
     "$cxx" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "fuzz: $cxx has no libFuzzer runtime; on Debian 12: apt-get install libclang-rt-14-dev" >&2
  exit 2
fi

# --- configure and build -----------------------------------------------------
# A build/fuzz configured with another compiler or generator cannot be
# reused: CMake refuses to switch either in place. It is ours, so start over.
if [ -f "$build/CMakeCache.txt" ]; then
  cached_cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
  cached_gen=$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "$build/CMakeCache.txt")
  if [ "$cached_gen" != Ninja ] || [ "$(basename "$cached_cxx")" != "$(basename "$(command -v "$cxx")")" ]; then
    echo "fuzz: $build was configured with '$cached_cxx' / '$cached_gen'; reconfiguring from scratch"
    rm -rf "$build"
  fi
fi

started=$(date +%s)
echo "== fuzz: configure $build ($cxx, ASan + UBSan)"
mkdir -p "$build"
CC=$cc CXX=$cxx cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEXPERTISE_BUILD_FUZZERS=ON -DEXPERTISE_BUILD_TESTS=OFF -DEXPERTISE_BUILD_BENCHMARKS=OFF \
  -DEXPERTISE_SANITIZE=address,undefined -DCMAKE_CXX_FLAGS=-Wno-unknown-warning-option \
  >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    echo "fuzz: configure failed" >&2
    exit 1
  }

echo "== fuzz: build ${targets[*]/%/_fuzz}"
cmake --build "$build" -j "$jobs" --target "${targets[@]/%/_fuzz}"
echo "   built in $(($(date +%s) - started)) s"

# --- run -----------------------------------------------------------------------
# Sanitizer findings are fatal and stacks symbolized: the symbolizer is taken
# from clang-14's install, as Debian puts only llvm-symbolizer-14 on PATH
# unless the unversioned llvm package is installed too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in /usr/lib/llvm-14/bin/llvm-symbolizer "$(command -v llvm-symbolizer-14 || true)"; do
    if [ -n "$s" ] && [ -x "$s" ]; then export ASAN_SYMBOLIZER_PATH=$s; break; fi
  done
fi

failures=()

# Writes a libFuzzer dictionary of the quoted tokens (JSON keys and values)
# found in a JSON corpus, so mutations splice real field names and codes.
make_dict() {
  local dir=$1 out=$2
  {
    printf '"{"\n"}"\n"["\n"]"\n":"\n","\n"null"\n"true"\n"false"\n"\\\\u0000"\n'
    grep -ohE '"[A-Za-z0-9_.:/@+ -]{1,60}"' "$dir"/* 2>/dev/null | sort -u |
      sed 's/"/\\"/g; s/^/"/; s/$/"/'
  } >"$out"
}

# Prints the end of a failing run's log, the failing input and what to do.
report_finding() {  # target, log, what, [input]
  local t=$1 log=$2 what=$3 input=${4:-}
  echo "!! $t: $what" >&2
  tail -n 60 "$log" | sed 's/^/   | /' >&2
  if [ -z "$input" ]; then
    input=$(grep -ohE "Test unit written to [^ ]+" "$log" | tail -n 1 | awk '{print $NF}' || true)
  fi
  if [ -n "$input" ] && [ -f "$input" ]; then
    echo "!! $t: crashing input: $input" >&2
    echo "   reproduce: $build/tests/fuzz/${t}_fuzz $input" >&2
    if [[ $input != "$corpus_root"/* ]]; then
      echo "   hint: once fixed, add it to tests/fuzz/corpus/$t/ as a regression case" \
           "(cp $input tests/fuzz/corpus/$t/<what-it-tests>)" >&2
    fi
  fi
  echo "   full log: $log" >&2
}

for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/${t}_fuzz
  seeds=$corpus_root/$t
  work=$build/work/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  flags=(-timeout=$timeout_s -rss_limit_mb=$rss_mb)
  case $t in
    openreferral|fhir|record_decoder)
      make_dict "$seeds" "$work/dict"
      flags+=(-dict="$work/dict")
      ;;
  esac

  # 1. Regression: every repository input once, each in its own process so
  #    every failing file is named.
  shopt -s nullglob
  inputs=("$seeds"/*)
  shopt -u nullglob
  echo "== fuzz: $t: replay ${#inputs[@]} corpus inputs"
  replay_failed=0
  for input in "${inputs[@]}"; do
    [ -f "$input" ] || continue
    log=$work/replay-$(basename "$input").log
    if ! (cd "$work/artifacts" && timeout $((timeout_s * 3)) "$bin" -timeout=$timeout_s \
            -rss_limit_mb=$rss_mb "$input") >"$log" 2>&1; then
      report_finding "$t" "$log" "regression input fails" "$input"
      failures+=("$t: corpus input $input")
      replay_failed=1
    else
      rm -f "$log"
    fi
  done
  [ "$replay_failed" = 0 ] || continue
  [ "$fuzz_seconds" -gt 0 ] || continue

  # 2. Fuzz for a bounded time. New inputs go to the first directory only
  #    (the scratch corpus); the repository corpus is read, never written.
  echo "== fuzz: $t: fuzz for ${fuzz_seconds} s (scratch corpus $work/corpus)"
  log=$work/fuzz.log
  rm -f "$work"/artifacts/crash-* "$work"/artifacts/leak-* "$work"/artifacts/timeout-* "$work"/artifacts/oom-*
  set +e
  timeout $((fuzz_seconds + 120)) "$bin" "${flags[@]}" -max_total_time="$fuzz_seconds" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    what="fuzzing found a failure (exit $rc)"
    [ "$rc" -ne 124 ] || what="fuzzer hung past its time limit (killed)"
    report_finding "$t" "$log" "$what"
    failures+=("$t: fuzzing (see $log)")
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
  echo "   ok: ${execs:-?} runs, ${cov:-cov: ?}, scratch corpus $(find "$work/corpus" -type f | wc -l) inputs"
done

echo "== fuzz: finished in $(($(date +%s) - started)) s"
if [ ${#failures[@]} -gt 0 ]; then
  echo "== fuzz: FAILED:" >&2
  printf '   %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "== fuzz: all targets passed"
