# expertise_importer_plugin(NAME <name> SOURCES <src>... [ENTRY <src>] [LIBRARIES <lib>...]
#                           [TESTS <test.cc>...] [CONFORMANCE <fixtures.json>]
#                           [FUZZ <fuzz.cc> [CORPUS <dir>]])
#
# Builds expertise_importer_<name>.so the way the host expects: a MODULE
# with hidden visibility, no undefined symbols, and a version script that
# exports only the entry function expertise_importer_plugin_v1, so one
# plugin's symbols never clash with another's or with the host's.
#
# And, when tests are built (BUILD_TESTING, or EXPERTISE_BUILD_TESTS in the
# expertise-directory tree), registers the plugin's checks with ctest, so a
# plugin's whole build is this one call:
#   TESTS        a GoogleTest executable <name>_importer_test from these files
#                and the plugin's SOURCES except ENTRY (the file defining the
#                entry point; plugin.cc by default), linked with the SDK and
#                LIBRARIES: the parser tested in process, with a fake host.
#   CONFORMANCE  test conformance_<name>: the conformance kit runs the built
#                plugin through the real runner and sandbox against these
#                fixtures (docs/plugins.md).
#   FUZZ         (expertise-directory tree only) a fuzz target over the same
#                sources, replayed from CORPUS by ctest and fuzzed by
#                tests/fuzz.sh (cmake/ExpertiseFuzz.cmake).
# Used in-tree and, installed with the SDK, by out-of-tree plugins.

include_guard(GLOBAL)

set(_EXPERTISE_IMPORTER_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/expertise_importer.map)

function(expertise_importer_plugin)
  cmake_parse_arguments(ARG "" "NAME;OUTPUT_DIRECTORY;ENTRY;CONFORMANCE;FUZZ;CORPUS"
                        "SOURCES;LIBRARIES;TESTS" ${ARGN})
  if(NOT ARG_NAME MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "expertise_importer_plugin: NAME must match [a-z][a-z0-9_]* (got '${ARG_NAME}')")
  endif()
  set(_target expertise_importer_${ARG_NAME})
  add_library(${_target} MODULE ${ARG_SOURCES})
  set_target_properties(${_target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME expertise_importer_${ARG_NAME}
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${_target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  elseif(DEFINED EXPERTISE_IMPORTER_OUTPUT_DIRECTORY)
    set_target_properties(${_target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${EXPERTISE_IMPORTER_OUTPUT_DIRECTORY})
  endif()
  target_link_options(${_target} PRIVATE
    -Wl,--no-undefined
    -Wl,--version-script=${_EXPERTISE_IMPORTER_VERSION_SCRIPT})
  set_property(TARGET ${_target} APPEND PROPERTY LINK_DEPENDS ${_EXPERTISE_IMPORTER_VERSION_SCRIPT})
  target_link_libraries(${_target} PRIVATE ExpertiseImporterSDK::sdk ${ARG_LIBRARIES})

  # The parser's sources: everything but the entry point.
  if(NOT ARG_ENTRY)
    set(ARG_ENTRY plugin.cc)
  endif()
  set(_parser_sources "")
  foreach(_source IN LISTS ARG_SOURCES)
    if(NOT _source STREQUAL ARG_ENTRY)
      get_filename_component(_absolute ${_source} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
      list(APPEND _parser_sources ${_absolute})
    endif()
  endforeach()

  set(_with_tests OFF)
  if(BUILD_TESTING OR EXPERTISE_BUILD_TESTS)
    set(_with_tests ON)
  endif()
  if(_with_tests AND ARG_TESTS)
    set(_test ${ARG_NAME}_importer_test)
    if(COMMAND expertise_cc_test)
      # In the expertise-directory tree: its warnings, sanitizers and labels.
      expertise_cc_test(NAME ${_test} SRCS ${ARG_TESTS} ${_parser_sources}
        DEPS ExpertiseImporterSDK::sdk ${ARG_LIBRARIES} LABELS unit)
    else()
      find_package(GTest REQUIRED)
      include(GoogleTest)
      add_executable(${_test} ${ARG_TESTS} ${_parser_sources})
      target_link_libraries(${_test} PRIVATE ExpertiseImporterSDK::sdk ${ARG_LIBRARIES} GTest::gmock GTest::gtest_main)
      gtest_discover_tests(${_test})
    endif()
    target_include_directories(${_test} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  endif()

  if(_with_tests AND ARG_CONFORMANCE)
    if(TARGET expertise-plugin-conformance OR COMMAND expertise_cc_test)
      set(_kit expertise-plugin-conformance)  # built in this tree
    else()
      set(_kit ${ExpertiseImporterSDK_CONFORMANCE_EXECUTABLE})
    endif()
    get_filename_component(_fixtures ${ARG_CONFORMANCE} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    add_test(NAME conformance_${ARG_NAME}
             COMMAND ${_kit} --plugin $<TARGET_FILE:${_target}> --fixtures ${_fixtures})
    set_tests_properties(conformance_${ARG_NAME} PROPERTIES LABELS integration TIMEOUT 300)
  endif()

  if(ARG_FUZZ AND COMMAND expertise_fuzz_target)
    set(_corpus_args "")
    if(ARG_CORPUS)
      set(_corpus_args CORPUS ${ARG_CORPUS})
    endif()
    expertise_fuzz_target(NAME ${ARG_NAME} SRCS ${ARG_FUZZ} ${_parser_sources}
      DEPS ExpertiseImporterSDK::sdk ${ARG_LIBRARIES} ${_corpus_args})
  endif()
endfunction()
