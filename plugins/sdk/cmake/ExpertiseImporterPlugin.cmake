# expertise_importer_plugin(NAME <name> SOURCES <src>... [LIBRARIES <lib>...])
#
# Builds expertise_importer_<name>.so the way the host expects: a MODULE
# with hidden visibility, no undefined symbols, and a version script that
# exports only the entry function expertise_importer_plugin_v1, so one
# plugin's symbols never clash with another's or with the host's.
# Used in-tree and, installed with the SDK, by out-of-tree plugins.

include_guard(GLOBAL)

set(_EXPERTISE_IMPORTER_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/expertise_importer.map)

function(expertise_importer_plugin)
  cmake_parse_arguments(ARG "" "NAME;OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
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
endfunction()
