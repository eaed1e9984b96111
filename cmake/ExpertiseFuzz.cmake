# expertise_fuzz_target(NAME <x> SRCS <src>... DEPS <lib>... [CORPUS <dir>])
#
# One fuzz target, built one of two ways:
#   - EXPERTISE_BUILD_FUZZERS=ON (clang; tests/fuzz.sh): the libFuzzer binary
#     <x>_fuzz, with ASan and UBSan, every finding fatal (docs/fuzzing.md);
#   - otherwise, with the tests: <x>_fuzz_replay, the same sources linked to
#     tests/fuzz/replay_main.cc and registered with ctest as fuzz_replay_<x>,
#     which runs each checked-in input of CORPUS once, so every CI build
#     (under ASan and UBSan too) replays every crash ever found.
# CORPUS defaults to tests/fuzz/corpus/<x>; tests/fuzz.sh fuzzes every
# target that has a folder there. Used by tests/fuzz/CMakeLists.txt and by
# expertise_importer_plugin(... FUZZ ...) for the shipped importers.

include_guard(GLOBAL)

if(EXPERTISE_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR
    "EXPERTISE_BUILD_FUZZERS needs clang (libFuzzer), but CMAKE_CXX_COMPILER_ID is "
    "'${CMAKE_CXX_COMPILER_ID}' (${CMAKE_CXX_COMPILER}). Configure a fresh build directory with "
    "CC=clang-14 CXX=clang++-14 (Debian: apt-get install clang-14 libclang-rt-14-dev), "
    "or simply run tests/fuzz.sh.")
endif()

# libFuzzer (with its coverage instrumentation), ASan and UBSan; every UBSan
# finding is fatal.
set(EXPERTISE_FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer -g)
# The project's warnings, minus GCC-only spellings clang does not know.
set(EXPERTISE_FUZZ_WARNINGS ${EXPERTISE_WARNINGS})
list(REMOVE_ITEM EXPERTISE_FUZZ_WARNINGS -Wshadow=local)

function(expertise_fuzz_target)
  cmake_parse_arguments(ARG "" "NAME;CORPUS" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_CORPUS)
    set(ARG_CORPUS ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${ARG_NAME})
  endif()
  if(EXPERTISE_BUILD_FUZZERS)
    set(_target ${ARG_NAME}_fuzz)
    add_executable(${_target} ${ARG_SRCS})
    target_compile_options(${_target} PRIVATE ${EXPERTISE_FUZZ_WARNINGS} ${EXPERTISE_FUZZ_FLAGS})
    target_link_options(${_target} PRIVATE ${EXPERTISE_FUZZ_FLAGS})
    # All in one folder, wherever they are declared: tests/fuzz.sh runs
    # <build>/tests/fuzz/<x>_fuzz.
    set_target_properties(${_target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/fuzz)
    # `ninja fuzzers` builds every fuzz target and nothing else.
    set_property(GLOBAL APPEND PROPERTY EXPERTISE_FUZZ_TARGETS ${_target})
  elseif(EXPERTISE_BUILD_TESTS)
    set(_target ${ARG_NAME}_fuzz_replay)
    add_executable(${_target} ${ARG_SRCS} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    target_compile_options(${_target} PRIVATE ${EXPERTISE_WARNINGS})
    add_test(NAME fuzz_replay_${ARG_NAME} COMMAND ${_target} ${ARG_CORPUS})
    set_tests_properties(fuzz_replay_${ARG_NAME} PROPERTIES LABELS unit TIMEOUT 300)
  else()
    return()
  endif()
  target_include_directories(${_target} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${_target} PRIVATE ${ARG_DEPS})
endfunction()
