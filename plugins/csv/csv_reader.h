// Copyright expertise-directory authors.
//
// The `csv` importer's streaming RFC 4180 reader: bytes in, delimited
// records out, with UTF-8 and size checks. Knows nothing of record fields.
#ifndef EXPERTISE_PLUGINS_CSV_CSV_READER_H_
#define EXPERTISE_PLUGINS_CSV_CSV_READER_H_

#include <cstddef>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "expertise/importer_plugin.hpp"

namespace expertise::plugins::csv_internal {

// Limits. A field over 1 MiB is refused by the brief; the record and column
// caps bound memory for hostile input (a header of a billion commas, or a
// record of many 1 MiB fields) well below the runner's RLIMIT_DATA, so such
// input gives a PARSE reject instead of an out-of-memory crash.
constexpr size_t kMaxFieldBytes = size_t{1} << 20;
constexpr size_t kMaxRecordBytes = size_t{16} << 20;
constexpr size_t kMaxColumns = 1024;
constexpr size_t kExcerptBytes = 200;
// Bytes of each row kept for the excerpt: 3 more than it shows, so that a
// character straddling byte 200 is whole and the cut can fall before it.
constexpr size_t kRawBytes = kExcerptBytes + 3;
constexpr size_t kChunkBytes = 64 * 1024;

// Checks UTF-8 one byte at a time, for the streaming reader (utfcpp checks
// whole buffers, and a record may span many chunks).
class Utf8Checker {
 public:
  // Feeds the byte at `offset`. Returns false when it shows the input is not
  // UTF-8; error_offset() then gives the offset of the offending sequence,
  // and checking restarts at this byte so structure bytes still count.
  bool Feed(unsigned char c, uint64_t offset);
  // True while a multi-byte sequence is incomplete.
  bool in_sequence() const { return need_ > 0; }
  uint64_t sequence_start() const { return start_; }
  uint64_t error_offset() const { return error_offset_; }
  void Reset() { need_ = 0; }

 private:
  bool Start(unsigned char c, uint64_t offset);

  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
  uint64_t start_ = 0;
  uint64_t error_offset_ = 0;
};

// One physical CSV record.
struct CsvRecord {
  uint64_t row = 0;     // 1-based record number; a record spanning lines counts once
  uint64_t offset = 0;  // byte offset of its first byte in the input
  bool blank = false;   // an empty line
  std::vector<std::string> fields;  // the first max_fields fields
  size_t field_count = 0;           // every field seen, kept or not
  std::string raw;                  // its first kRawBytes bytes, without the line end
  // The first problem that makes the record unreadable; empty when none.
  std::string error;
  uint64_t error_offset = 0;
  size_t error_field = 0;  // index of the field the problem is in
};

// A streaming RFC 4180 reader. Holds one 64 KiB chunk and the current record,
// never the whole input. Beyond RFC 4180 it accepts LF and lone CR line ends
// (spreadsheet exports use all three), skips a leading UTF-8 BOM, and checks
// UTF-8. A malformed record is still delimited (stray quotes are kept as
// text) so that one bad row does not hide the rows after it.
class CsvReader {
 public:
  enum class Status { kRecord, kEnd, kIoError, kCancelled };

  // `input` and `owner` must outlive the reader; owner.cancelled() is polled
  // per chunk so that one huge record cannot delay a cancel.
  CsvReader(std::istream& input, char delimiter, const importer::Importer& owner)
      : input_(input), delimiter_(static_cast<unsigned char>(delimiter)), owner_(owner),
        buffer_(kChunkBytes) {}

  // Keeps at most `n` fields of each later record (the rest are only counted).
  void set_max_fields(size_t n) { max_fields_ = n; }
  uint64_t offset() const { return offset_; }

  // Reads the next record into `record`.
  Status Next(CsvRecord& record);

 private:
  bool Fill();
  bool PeekByte(unsigned char& c);
  bool NextByte(unsigned char& c);

  void Fail(CsvRecord& record, uint64_t at, const char* problem);
  void Append(CsvRecord& record, unsigned char c, uint64_t at);
  void EndField(CsvRecord& record);

  std::istream& input_;
  const unsigned char delimiter_;
  const importer::Importer& owner_;
  std::vector<char> buffer_;
  size_t position_ = 0, length_ = 0;
  uint64_t offset_ = 0;  // offset of the next unread byte
  uint64_t rows_ = 0;
  bool first_chunk_ = true, eof_ = false, io_error_ = false, cancelled_ = false;
  size_t max_fields_ = kMaxColumns + 1;  // one over the cap, so a wider header is noticed

  std::string field_;
  bool field_overflow_ = false;
  size_t record_bytes_ = 0;
  Utf8Checker utf8_;
};


}  // namespace expertise::plugins::csv_internal

#endif  // EXPERTISE_PLUGINS_CSV_CSV_READER_H_
