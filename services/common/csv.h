#ifndef EXPERTISE_SERVICES_COMMON_CSV_H_
#define EXPERTISE_SERVICES_COMMON_CSV_H_

// RFC 4180 CSV: quoted fields, doubled quotes, embedded newlines, CRLF or LF
// line ends, an optional UTF-8 byte-order mark.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace expertise {

using CsvRow = std::vector<std::string>;

// Parses `text` into rows. Fails with INVALID_ARGUMENT naming the line of an
// unterminated quote or of a stray quote inside an unquoted field.
absl::StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text);

// Returns `field` quoted when it holds a comma, quote, CR or LF.
std::string CsvEscape(std::string_view field);

// Returns the fields escaped and joined by commas, ending in "\r\n".
std::string CsvLine(const CsvRow& fields);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_CSV_H_
