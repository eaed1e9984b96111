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

bash cmake/install-deps.sh
jobs=$(nproc)

echo "== build: AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEXPERTISE_SANITIZE=address,undefined >/dev/null
cmake --build build/asan -j "$jobs"

echo "== test: every test (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Leaks inside system libraries we cannot fix (each entry says why).
export LSAN_OPTIONS=suppressions=$root/tests/lsan-suppressions.txt:print_suppressions=0
ctest --test-dir build/asan -j "$jobs" --output-on-failure --no-tests=error

if [ "${EXPERTISE_SKIP_TSAN:-0}" != 1 ]; then
  echo "== build: ThreadSanitizer (concurrency tests)"
  cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEXPERTISE_SANITIZE=thread -DEXPERTISE_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build/tsan -j "$jobs" --target registry_concurrency_test executor_concurrency_test mutex_concurrency_test importer_concurrency_test countdown_concurrency_test rate_limiter_concurrency_test capacity_watch_concurrency_test sharing_race_concurrency_test metrics_concurrency_test
  echo "== test: concurrency (TSan)"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build/tsan -L concurrency -j "$jobs" --output-on-failure --no-tests=error
fi

if [ "${EXPERTISE_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz: replay corpora, then fuzz each target briefly"
  bash tests/fuzz.sh
fi

if [ "${EXPERTISE_SKIP_BUF:-0}" != 1 ]; then
  echo "== lint: buf"
  bash tests/buf-lint.sh
fi
echo "== all tests passed"
