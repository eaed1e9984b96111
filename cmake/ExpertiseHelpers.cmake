# Build helpers shared by every folder, after Abseil's absl_cc_library.

include_guard(GLOBAL)

# Warnings for our own code (generated protobuf code is compiled without them).
# -Wmissing-field-initializers misfires on designated initializers of structs
# whose other members have default member initializers.
set(EXPERTISE_WARNINGS -Wall -Wextra -Wpedantic -Wno-unused-parameter -Wno-missing-field-initializers
    -Wshadow=local)

macro(expertise_apply_sanitizers)
  if(EXPERTISE_SANITIZE)
    set(_san_flags -fsanitize=${EXPERTISE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_compile_options(${_san_flags})
    add_link_options(${_san_flags})
  endif()
endmacro()

# Links with mold when it is installed (cmake/install-deps.sh installs it): the
# suite has about a hundred executables that each link gRPC, and GNU ld spends
# most of an incremental build on them. EXPERTISE_USE_MOLD=OFF keeps the default.
option(EXPERTISE_USE_MOLD "Link with mold when it is installed" ON)
macro(expertise_use_mold)
  if(EXPERTISE_USE_MOLD)
    find_program(EXPERTISE_MOLD mold)
    if(EXPERTISE_MOLD)
      add_link_options(-fuse-ld=mold)
    endif()
  endif()
endmacro()

# expertise_cc_library(NAME name SRCS ... DEPS ...)
function(expertise_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${EXPERTISE_WARNINGS})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

# expertise_cc_binary(NAME name SRCS ... DEPS ...)
function(expertise_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${EXPERTISE_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# expertise_cc_test(NAME name SRCS ... DEPS ... [LABELS label] [ENV ...])
# LABELS takes one label: a list would be split on its way through
# gtest_discover_tests' PROPERTIES.
# One test target per file; every test is registered with ctest by name.
function(expertise_cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;ENV" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${EXPERTISE_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  # The ThreadSanitizer job builds exactly these (target concurrency_tests).
  if("${ARG_LABELS}" STREQUAL "concurrency")
    set_property(GLOBAL APPEND PROPERTY EXPERTISE_CONCURRENCY_TESTS ${ARG_NAME})
  endif()
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_TIMEOUT 60
    PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT} ENVIRONMENT "${ARG_ENV}")
endfunction()

# Writes a C++ source that defines `std::string_view NAME()` in namespace NS
# returning the contents of FILE, so reference data ships inside the binary.
function(expertise_embed_file)
  cmake_parse_arguments(ARG "" "FILE;OUTPUT;NAMESPACE;FUNCTION" "" ${ARGN})
  set(_script ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake)
  add_custom_command(
    OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${ARG_FILE} -DOUTPUT=${ARG_OUTPUT}
            -DNAMESPACE=${ARG_NAMESPACE} -DFUNCTION=${ARG_FUNCTION} -P ${_script}
    DEPENDS ${ARG_FILE} ${_script}
    COMMENT "Embedding ${ARG_FILE}"
    VERBATIM)
endfunction()
