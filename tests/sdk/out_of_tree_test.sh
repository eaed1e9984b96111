#!/usr/bin/env bash
# Builds the importer plugin template out of tree, the way a plugin author
# does, and runs the conformance kit on it:
#
#   1. cmake --install <build-dir> --prefix <tmp>/prefix   (a full install)
#   2. copy <tmp>/prefix/share/expertise-directory/importer-template
#   3. configure and build the copy with only -DCMAKE_PREFIX_PATH=<tmp>/prefix
#   4. <tmp>/prefix/bin/expertise-plugin-conformance --plugin <built .so>
#        --fixtures <copy>/conformance.json
#
# Usage: tests/sdk/out_of_tree_test.sh <build-dir> [conformance or gtest flags...]
#
# Environment:
#   EXPERTISE_SDK_TEST_CXXFLAGS  compile and link flags for the plugin, e.g.
#       "-fsanitize=address,undefined -fno-omit-frame-pointer" when the
#       build tree is a sanitizer build: the sandboxed runner is then an
#       ASan binary and can only load a plugin built with ASan too.
#   CXX                          the plugin's compiler (CMake's usual variable);
#       use the compiler the build tree was built with.
#   EXPERTISE_SDK_TEST_KEEP=1    keep the temporary folder (its path is printed).
#
# Exits non-zero on any failure.
set -euo pipefail

me=sdk_out_of_tree
say() { printf '%s: %s\n' "$me" "$*"; }
fail() {
  printf '%s: FAILED: %s\n' "$me" "$*" >&2
  exit 1
}

[[ $# -ge 1 ]] || { echo "usage: $0 <build-dir> [conformance flags...]" >&2; exit 2; }
[[ -d $1 ]] || fail "no build folder $1"
build_dir=$(cd "$1" && pwd)
shift
[[ -f $build_dir/cmake_install.cmake ]] || fail "$build_dir is not a configured CMake build folder"

work=$(mktemp -d "${TMPDIR:-/tmp}/expertise-sdk-out-of-tree.XXXXXX")
cleanup() {
  if [[ ${EXPERTISE_SDK_TEST_KEEP:-} == 1 ]]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
prefix=$work/prefix
plugin_src=$work/plugin
plugin_build=$work/plugin-build

# Shows a step's log when it fails.
run_logged() {
  local name=$1
  shift
  local log=$work/$name.log
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    fail "$name: $*"
  fi
}

# 1. A full install: the SDK, the plugins and the binaries.
say "installing $build_dir into $prefix"
run_logged install cmake --install "$build_dir" --prefix "$prefix"

expect_file() {
  [[ -e $prefix/$1 ]] || fail "the install has no $1 ($2)"
}
expect_file include/expertise/importer_abi.h "install rule of the SDK headers, component sdk"
expect_file include/expertise/importer_plugin.hpp "install rule of the SDK headers, component sdk"
expect_file include/expertise/importer_support.hpp "install rule of the SDK headers, component sdk"
expect_file share/expertise-directory/importer-template/CMakeLists.txt \
  "install rule of plugins/sdk/template/, component sdk"
expect_file bin/expertise-plugin-conformance "install rule of the conformance runner"
sdk_config=$(find "$prefix" -path '*/cmake/ExpertiseImporterSDK/ExpertiseImporterSDKConfig.cmake' -print -quit)
[[ -n $sdk_config ]] || fail "the install has no <libdir>/cmake/ExpertiseImporterSDK/ExpertiseImporterSDKConfig.cmake"
pc_file=$(find "$prefix" -path '*/pkgconfig/expertise-importer-sdk.pc' -print -quit)
[[ -n $pc_file ]] || fail "the install has no <libdir>/pkgconfig/expertise-importer-sdk.pc"
# The installed conformance runner must find the installed plugin runner
# (plugin_catalog.cc: DefaultRunnerPath); otherwise it would quietly fall
# back to the build tree's and this test would prove nothing about the
# install.
if [[ ! -x $prefix/bin/expertise-plugin-runner && ! -x $prefix/libexec/expertise-directory/expertise-plugin-runner ]]; then
  fail "the install has no expertise-plugin-runner in bin/ or libexec/expertise-directory/ (install rule missing)"
fi

# 2. The template, copied out of the install like an author would.
say "copying the installed template to $plugin_src"
cp -R "$prefix/share/expertise-directory/importer-template" "$plugin_src"
chmod -R u+w "$plugin_src"
[[ ! -e $plugin_src/build ]] || fail "the installed template contains a build/ folder"

# 3. Configure and build it with nothing but the install prefix.
cmake_args=(-S "$plugin_src" -B "$plugin_build"
  -DCMAKE_PREFIX_PATH="$prefix"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if [[ -n ${EXPERTISE_SDK_TEST_CXXFLAGS:-} ]]; then
  say "plugin flags: $EXPERTISE_SDK_TEST_CXXFLAGS"
  # The plugin is a MODULE library, linked with the module linker flags
  # (CMake also puts CMAKE_CXX_FLAGS on the link line); the shared ones are
  # set too, as asked for, in case a plugin is built as SHARED.
  cmake_args+=(-DCMAKE_CXX_FLAGS="$EXPERTISE_SDK_TEST_CXXFLAGS"
    -DCMAKE_SHARED_LINKER_FLAGS="$EXPERTISE_SDK_TEST_CXXFLAGS"
    -DCMAKE_MODULE_LINKER_FLAGS="$EXPERTISE_SDK_TEST_CXXFLAGS")
fi
say "configuring the template"
# An inherited CMAKE_PREFIX_PATH could find the SDK somewhere else.
run_logged configure env -u CMAKE_PREFIX_PATH cmake "${cmake_args[@]}"
found_dir=$(sed -n 's/^ExpertiseImporterSDK_DIR:[A-Z]*=//p' "$plugin_build/CMakeCache.txt")
case $found_dir in
  "$prefix"/*) ;;
  *) fail "find_package(ExpertiseImporterSDK) found '$found_dir', not the SDK installed in $prefix" ;;
esac
say "building the template"
run_logged build cmake --build "$plugin_build"
plugin_so=$plugin_build/expertise_importer_example.so
[[ -f $plugin_so ]] || fail "the build made no $plugin_so"

# 4. The installed conformance kit on the built plugin.
say "running $prefix/bin/expertise-plugin-conformance"
unset EXPERTISE_PLUGIN_RUNNER
if ! "$prefix/bin/expertise-plugin-conformance" --plugin "$plugin_so" \
    --fixtures "$plugin_src/conformance.json" "$@"; then
  fail "the conformance kit failed on the template plugin"
fi
say "PASSED"
