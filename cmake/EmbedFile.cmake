# cmake -DINPUT=... -DOUTPUT=... -DNAMESPACE=... -DFUNCTION=... -P EmbedFile.cmake
# Emits the file as a sequence of raw string literals (each below compilers'
# literal-length limits) concatenated into one constant.
file(READ ${INPUT} _content)
string(LENGTH "${_content}" _len)
set(_chunks "")
set(_pos 0)
while(_pos LESS _len)
  string(SUBSTRING "${_content}" ${_pos} 8000 _chunk)
  string(APPEND _chunks "R\"EXPERTISE_EMBED(${_chunk})EXPERTISE_EMBED\"\n")
  math(EXPR _pos "${_pos} + 8000")
endwhile()
file(WRITE ${OUTPUT}.tmp
"// Generated from ${INPUT} by cmake/EmbedFile.cmake. Do not edit.
#include <string_view>
namespace ${NAMESPACE} {
std::string_view ${FUNCTION}() {
  static constexpr char kData[] =
${_chunks};
  return std::string_view(kData, sizeof(kData) - 1);
}
}  // namespace ${NAMESPACE}
")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
