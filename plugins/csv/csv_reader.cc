// Copyright expertise-directory authors.
#include "plugins/csv/csv_reader.h"

#include <utility>

namespace expertise::plugins::csv_internal {

bool Utf8Checker::Feed(unsigned char c, uint64_t offset) {
  if (need_ > 0) {
    if (c >= lo_ && c <= hi_) {
      lo_ = 0x80;
      hi_ = 0xBF;
      --need_;
      return true;
    }
    error_offset_ = start_;
    need_ = 0;
    Start(c, offset);  // a new sequence may begin here; the error stands
    return false;
  }
  if (Start(c, offset)) return true;
  error_offset_ = offset;
  return false;
}

bool Utf8Checker::Start(unsigned char c, uint64_t offset) {
  start_ = offset;
  lo_ = 0x80;
  hi_ = 0xBF;
  if (c < 0x80) return true;
  if (c >= 0xC2 && c <= 0xDF) {
    need_ = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need_ = 2;
    if (c == 0xE0) lo_ = 0xA0;
    if (c == 0xED) hi_ = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need_ = 3;
    if (c == 0xF0) lo_ = 0x90;
    if (c == 0xF4) hi_ = 0x8F;
  } else {
    return false;
  }
  return true;
}

CsvReader::Status CsvReader::Next(CsvRecord& record) {
  record.blank = false;
  record.fields.clear();
  record.field_count = 0;
  record.raw.clear();
  record.error.clear();
  record.error_offset = 0;
  record.error_field = 0;
  field_.clear();
  field_overflow_ = false;
  record_bytes_ = 0;
  utf8_.Reset();

  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state = State::kFieldStart;
  bool started = false;
  uint64_t quote_offset = 0;
  unsigned char c = 0;
  while (NextByte(c)) {
    const uint64_t at = offset_ - 1;
    if (!started) {
      started = true;
      record.offset = at;
      record.row = ++rows_;
    }
    if (!utf8_.Feed(c, at)) Fail(record, utf8_.error_offset(), "invalid UTF-8");
    bool line_end = false;
    switch (state) {
      case State::kQuoted:
        if (c == '"') {
          state = State::kQuoteInQuoted;
        } else {
          Append(record, c, at);
        }
        break;
      case State::kQuoteInQuoted:
        if (c == '"') {  // a doubled quote stands for one quote
          Append(record, c, at);
          state = State::kQuoted;
        } else if (c == delimiter_) {
          EndField(record);
          state = State::kFieldStart;
        } else if (c == '\r' || c == '\n') {
          line_end = true;
        } else {
          Fail(record, at, "text after the closing quote of a field");
          Append(record, c, at);
          state = State::kUnquoted;
        }
        break;
      case State::kFieldStart:
        if (c == '"') {
          state = State::kQuoted;
          quote_offset = at;
          break;
        }
        [[fallthrough]];
      case State::kUnquoted:
        if (c == delimiter_) {
          EndField(record);
          state = State::kFieldStart;
        } else if (c == '\r' || c == '\n') {
          line_end = true;
        } else {
          if (c == '"') {
            Fail(record, at,
                 "quote inside an unquoted field (quote the whole field and double the quote)");
          }
          Append(record, c, at);
          state = State::kUnquoted;
        }
        break;
    }
    if (line_end) {
      unsigned char next = 0;
      if (c == '\r' && PeekByte(next) && next == '\n') NextByte(next);
      record.blank = at == record.offset;
      if (!record.blank) EndField(record);
      return Status::kRecord;
    }
    if (record.raw.size() < kRawBytes) record.raw.push_back(static_cast<char>(c));
  }
  if (cancelled_) return Status::kCancelled;
  if (io_error_) return Status::kIoError;
  if (!started) return Status::kEnd;
  // The input ends the last record.
  if (state == State::kQuoted) {
    Fail(record, quote_offset,
         "unterminated quote: the quoted field is still open at the end of the input");
  }
  if (utf8_.in_sequence()) Fail(record, utf8_.sequence_start(), "invalid UTF-8 (truncated)");
  EndField(record);
  return Status::kRecord;
}

bool CsvReader::Fill() {
  if (eof_) return false;
  if (owner_.cancelled()) {
    cancelled_ = true;
    return false;
  }
  input_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  length_ = static_cast<size_t>(input_.gcount());
  position_ = 0;
  if (input_.bad()) {
    io_error_ = true;
    eof_ = true;
    return false;
  }
  if (length_ == 0) {
    eof_ = true;
    return false;
  }
  // istream::read only returns short at the end of input, so a BOM is
  // never split across the first and second chunk.
  if (first_chunk_) {
    first_chunk_ = false;
    if (length_ >= 3 && buffer_[0] == '\xEF' && buffer_[1] == '\xBB' && buffer_[2] == '\xBF') {
      position_ = 3;
      offset_ = 3;
    }
  }
  return true;
}

bool CsvReader::PeekByte(unsigned char& c) {
  while (position_ == length_) {
    if (!Fill()) return false;
  }
  c = static_cast<unsigned char>(buffer_[position_]);
  return true;
}

bool CsvReader::NextByte(unsigned char& c) {
  if (!PeekByte(c)) return false;
  ++position_;
  ++offset_;
  return true;
}

void CsvReader::Fail(CsvRecord& record, uint64_t at, const char* problem) {
  if (!record.error.empty()) return;  // the first problem explains the rest
  record.error = problem;
  record.error_offset = at;
  record.error_field = record.field_count;
}

void CsvReader::Append(CsvRecord& record, unsigned char c, uint64_t at) {
  // Fields past the header's width are only counted: the row is rejected
  // for its field count anyway, and keeping them would let one long line
  // of delimiters exhaust memory.
  if (field_overflow_ || record.field_count >= max_fields_) return;
  if (field_.size() >= kMaxFieldBytes) {
    Fail(record, at, "field longer than 1 MiB");
    field_overflow_ = true;
    return;
  }
  if (record_bytes_ >= kMaxRecordBytes) {
    Fail(record, at, "record longer than 16 MiB");
    field_overflow_ = true;
    return;
  }
  field_.push_back(static_cast<char>(c));
  ++record_bytes_;
}

void CsvReader::EndField(CsvRecord& record) {
  if (record.field_count < max_fields_) record.fields.push_back(std::move(field_));
  ++record.field_count;
  field_.clear();
  field_overflow_ = false;
}

}  // namespace expertise::plugins::csv_internal
