#ifndef EXPERTISE_SERVICES_COMMON_CSV_H_
#define EXPERTISE_SERVICES_COMMON_CSV_H_

// RFC 4180 CSV: quoted fields, doubled quotes, embedded newlines, CRLF or LF
// line ends, an optional UTF-8 byte-order mark. The one CSV reader and writer
// of the services and clients.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace expertise {

using CsvRow = std::vector<std::string>;

// Parses `text` into rows. Fails with INVALID_ARGUMENT naming the line of an
// unterminated quote or of a stray quote inside an unquoted field.
absl::StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text);

// Returns `text` as one CSV text cell. A cell starting with = + - @, tab or
// CR gets a leading apostrophe, so a spreadsheet opening the file shows it
// rather than running it as a formula (CWE-1236). The result is then quoted
// when it holds a comma, double quote, CR or LF, its double quotes doubled.
std::string CsvField(std::string_view text);

// Returns `field` as one CSV cell: a plain decimal number ("-2.5", "1e3")
// as it is, since a spreadsheet reads it as a number and a guard would
// change its value, and likewise a lone "-" (the tables' "none"); anything
// else as CsvField does.
std::string CsvEscape(std::string_view field);

// Returns the fields passed through CsvEscape and joined by commas, ending in
// "\r\n".
std::string CsvLine(const CsvRow& fields);

}  // namespace expertise

#endif  // EXPERTISE_SERVICES_COMMON_CSV_H_
