#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs what is
# needed, builds, and runs every test with ctest.
#
#   1. every test under AddressSanitizer + UndefinedBehaviorSanitizer;
#   2. the concurrency tests (ctest label "concurrency") under ThreadSanitizer;
#   3. the libFuzzer targets (clang): corpus replayed as regression tests,
#      then each target fuzzed for FUZZ_SECONDS (default 30);
#   4. buf lint of the protos (buf comes from the npm registry, for checking only).
#
# Set EXPERTISE_SKIP_TSAN=1, EXPERTISE_SKIP_FUZZ=1 or EXPERTISE_SKIP_BUF=1 to
# skip a stage locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Each stage's duration, printed at the end (and when a stage fails), so the
# CI budget (45 minutes on 2 cores) can be watched.
run_started=$(date +%s)
stage_name=""
stage_started=$run_started
stage_report=()
stage() {  # stage NAME: ends the running stage and starts NAME
  local now
  now=$(date +%s)
  [ -z "$stage_name" ] || stage_report+=("$(printf '%6d s  %s' $((now - stage_started)) "$stage_name")")
  stage_name=$1
  stage_started=$now
  [ "$1" = done ] || echo "== $1"
}
print_stages() {
  local rc=$?
  [ "$stage_name" = done ] || stage "done"
  echo "== stage durations"
  printf '%s\n' "${stage_report[@]}"
  echo "$(printf '%6d s' $(($(date +%s) - run_started)))  total"
  return $rc
}
trap print_stages EXIT

stage "install dependencies"
bash cmake/install-deps.sh
jobs=$(nproc)

stage "build: AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEXPERTISE_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j "$jobs"

stage "test: every test (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Leaks inside system libraries we cannot fix (each entry says why).
export LSAN_OPTIONS=suppressions=$root/tests/lsan-suppressions.txt:print_suppressions=0
ctest --test-dir build/asan -j "$jobs" --output-on-failure --no-tests=error

if [ "${EXPERTISE_SKIP_TSAN:-0}" != 1 ]; then
  stage "build: ThreadSanitizer (concurrency tests)"
  cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEXPERTISE_SANITIZE=thread -DEXPERTISE_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build/tsan -j "$jobs" --target concurrency_tests
  stage "test: concurrency (TSan)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build/tsan -L concurrency -j "$jobs" --output-on-failure --no-tests=error
fi

if [ "${EXPERTISE_SKIP_FUZZ:-0}" != 1 ]; then
  stage "fuzz: build, replay corpora, then fuzz each target briefly"
  bash tests/fuzz.sh
fi

if [ "${EXPERTISE_SKIP_BUF:-0}" != 1 ]; then
  stage "lint: buf"
  bash tests/buf-lint.sh
fi
echo "== all tests passed"
