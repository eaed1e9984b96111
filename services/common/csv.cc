#include "services/common/csv.h"

#include "absl/strings/str_cat.h"

namespace expertise {

absl::StatusOr<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool in_quotes = false;
  bool field_was_quoted = false;
  int line = 1;
  int quote_line = 0;
  auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_was_quoted = false;
  };
  auto end_row = [&] {
    end_field();
    rows.push_back(std::move(row));
    row.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!field.empty() || field_was_quoted) {
          return absl::InvalidArgumentError(
              absl::StrCat("CSV line ", line, ": quote inside an unquoted field"));
        }
        in_quotes = true;
        field_was_quoted = true;
        quote_line = line;
        break;
      case ',':
        end_field();
        break;
      case '\r':
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        end_row();
        ++line;
        break;
      case '\n':
        end_row();
        ++line;
        break;
      default:
        if (field_was_quoted) {
          return absl::InvalidArgumentError(
              absl::StrCat("CSV line ", line, ": text after a closing quote"));
        }
        field += c;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(
        absl::StrCat("CSV line ", quote_line, ": quoted field never closed"));
  }
  if (!field.empty() || field_was_quoted || !row.empty()) end_row();
  return rows;
}

namespace {

bool StartsLikeAFormula(std::string_view text) {
  if (text.empty()) return false;
  switch (text.front()) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

// True for [+-]digits[.digits][e[+-]digits] with at least one digit before
// the exponent: what number columns hold, and nothing a spreadsheet could
// run.
bool IsPlainNumber(std::string_view text) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i - start;
  };
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t mantissa_digits = digits();
  if (i < text.size() && text[i] == '.') {
    ++i;
    mantissa_digits += digits();
  }
  if (mantissa_digits == 0) return false;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == text.size();
}

std::string QuoteIfNeeded(std::string value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string CsvField(std::string_view text) {
  std::string value;
  value.reserve(text.size() + 1);
  if (StartsLikeAFormula(text)) value.push_back('\'');
  value.append(text);
  return QuoteIfNeeded(std::move(value));
}

std::string CsvEscape(std::string_view field) {
  // A lone "-" is how tables show "none"; a spreadsheet shows it as text.
  if (IsPlainNumber(field) || field == "-") return std::string(field);
  return CsvField(field);
}

std::string CsvLine(const CsvRow& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvEscape(fields[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace expertise
