# Writes OUTPUT, a C++ header with the role, specialism and setting codes of
# the one taxonomy source (services/common/reference/taxonomy.json), so
# plugins, which run sandboxed and cannot read it, compile the codes in
# without keeping copies that drift. Runs at configure time; editing the JSON
# re-runs it. The file is rewritten only when its content changes.
#
#   expertise_generate_taxonomy_codes(JSON <taxonomy.json> OUTPUT <header>)

include_guard(GLOBAL)

function(_expertise_taxonomy_codes json kind out_var)
  string(JSON _count LENGTH "${json}" ${kind})
  set(_codes "")
  math(EXPR _last "${_count} - 1")
  foreach(_i RANGE ${_last})
    string(JSON _code GET "${json}" ${kind} ${_i} code)
    if(NOT _code MATCHES "^[a-z0-9-]+$")
      message(FATAL_ERROR "taxonomy: ${kind}[${_i}] has code '${_code}', not lower-case letters, digits and '-'")
    endif()
    string(APPEND _codes "    \"${_code}\",\n")
  endforeach()
  set(${out_var} "${_codes}" PARENT_SCOPE)
  set(${out_var}_COUNT ${_count} PARENT_SCOPE)
endfunction()

function(expertise_generate_taxonomy_codes)
  cmake_parse_arguments(ARG "" "JSON;OUTPUT" "" ${ARGN})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${ARG_JSON})
  file(READ ${ARG_JSON} _json)
  string(JSON _version GET "${_json}" version)
  _expertise_taxonomy_codes("${_json}" roles _roles)
  _expertise_taxonomy_codes("${_json}" specialisms _specialisms)
  _expertise_taxonomy_codes("${_json}" settings _settings)
  set(_text "// Generated from taxonomy.json (version ${_version}) by cmake/TaxonomyCodes.cmake: do not edit.
//
// The SEND taxonomy's codes, for plugins: they run sandboxed without the
// registry's files, so the codes are compiled in; the host re-checks every
// emitted code against the taxonomy it serves. A new taxonomy version means
// rebuilding the plugin.
#ifndef EXPERTISE_TAXONOMY_CODES_HPP_
#define EXPERTISE_TAXONOMY_CODES_HPP_

#include <algorithm>
#include <array>
#include <string_view>

namespace expertise::importer::taxonomy {

inline constexpr std::string_view kVersion = \"${_version}\";

inline constexpr std::array<std::string_view, ${_roles_COUNT}> kRoleCodes = {
${_roles}};

inline constexpr std::array<std::string_view, ${_specialisms_COUNT}> kSpecialismCodes = {
${_specialisms}};

inline constexpr std::array<std::string_view, ${_settings_COUNT}> kSettingCodes = {
${_settings}};

// Whether `code` is one of `codes`.
template <size_t N>
constexpr bool Contains(const std::array<std::string_view, N>& codes, std::string_view code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

}  // namespace expertise::importer::taxonomy

#endif  // EXPERTISE_TAXONOMY_CODES_HPP_
")
  file(CONFIGURE OUTPUT ${ARG_OUTPUT} CONTENT "${_text}" @ONLY)
endfunction()
