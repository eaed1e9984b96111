// Fuzzes the runner protocol's transport (services/importer/frame_io.cc):
// length-prefixed frames (4-byte little-endian length, at most 4 MiB) on a
// stream socket, as the importer host reads them from the sandboxed runner.
//
// Input layout: byte 0 picks the write chunk size, the rest is the byte
// stream the runner sends. The stream is written into one end of a
// socketpair in chunks; after each chunk the other end is read the way
// plugin_run.cc does (FrameReader::Fill, then Next until false, each payload
// parsed as a RunnerMessage), then the writer shuts down and the reader sees
// the end of stream. The same stream is also read by the runner's side,
// ReadFrameBlocking into HostMessage, frame by frame.
//
// Besides the sanitizers it checks the reader against a plain reference
// decoder of the same bytes: the frames delivered are exactly the complete,
// in-limit frames in order; DATA_LOSS only for an over-limit length; the
// bytes left over are exactly the incomplete tail; and every parsed
// message re-serializes to bytes that parse again to the same bytes.
//
// Seeds: tests/fuzz/corpus/runner_frame/. Run through tests/fuzz.sh.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "expertise/importer/v1/runner.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/logging.h"
#include "services/importer/frame_io.h"

namespace {

namespace v1 = expertise::importer::v1;
using expertise::importer::FrameReader;
using expertise::importer::kMaxFrameBytes;
using expertise::importer::ReadFrameBlocking;

// A socketpair closed on scope exit.
struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) != 0) std::abort();
  }
  ~SocketPair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
};

void WriteAllOrDie(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) std::abort();
    data += n;
    size -= static_cast<size_t>(n);
  }
}

uint32_t LengthAt(std::string_view s, size_t at) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

// What a correct reader must make of `stream`.
struct Expected {
  std::vector<std::string_view> frames;  // complete frames within the limit, in order
  bool oversized = false;                // frames stop at an over-limit length
  size_t consumed = 0;                   // bytes of `frames`, headers included
};

Expected Reference(std::string_view stream) {
  Expected e;
  size_t at = 0;
  while (stream.size() - at >= 4) {
    const uint32_t length = LengthAt(stream, at);
    if (length > kMaxFrameBytes) {
      e.oversized = true;
      break;
    }
    if (stream.size() - at - 4 < length) break;
    e.frames.push_back(stream.substr(at + 4, length));
    at += 4 + length;
  }
  e.consumed = at;
  return e;
}

// Deterministic serialization (map entries sorted), so two serializations
// of equal messages compare equal.
std::string Serialize(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) std::abort();
  }
  return out;
}

// Parses like the host; a parsed message must re-serialize stably.
template <typename Message>
void ParseAndCheck(const std::string& payload) {
  Message message;
  if (!message.ParseFromString(payload)) return;  // the host ends the run: fine
  const std::string once = Serialize(message);
  if (once.size() != message.ByteSizeLong()) std::abort();
  Message again;
  if (!again.ParseFromString(once)) std::abort();
  if (Serialize(again) != once) std::abort();
}

size_t ChunkSize(uint8_t selector) {
  // 1..128 bytes for the low half (splits inside headers and payloads),
  // 512 bytes to 64 KiB for the high half.
  if (selector < 0x80) return size_t{selector} + 1;
  return (size_t{selector} - 0x7f) * 512;
}

// The host's side: FrameReader on a non-blocking read, fed in chunks.
void HostSide(std::string_view stream, size_t chunk) {
  const Expected expected = Reference(stream);
  SocketPair pair;
  FrameReader reader;
  std::vector<std::string> delivered;
  bool data_loss = false;
  bool ended = false;

  auto drain = [&](const absl::Status& fill) {
    if (fill.code() == absl::StatusCode::kDataLoss) {
      data_loss = true;
      return;
    }
    if (fill.code() == absl::StatusCode::kOutOfRange) {
      ended = true;
    } else if (!fill.ok()) {
      std::abort();  // a socketpair read never fails otherwise
    }
    std::string payload;
    while (reader.Next(&payload)) {
      if (payload.size() > kMaxFrameBytes) std::abort();
      ParseAndCheck<v1::RunnerMessage>(payload);
      delivered.push_back(payload);
    }
  };

  size_t at = 0;
  while (at < stream.size() && !data_loss) {
    const size_t n = std::min(chunk, stream.size() - at);
    WriteAllOrDie(pair.fd[0], stream.data() + at, n);
    at += n;
    drain(reader.Fill(pair.fd[1]));
    if (ended) std::abort();  // the writer is still open
  }
  if (!data_loss) {
    if (::shutdown(pair.fd[0], SHUT_WR) != 0) std::abort();
    drain(reader.Fill(pair.fd[1]));
    if (!data_loss && !ended) std::abort();  // end of stream must be seen
  }

  // Delivered frames: a prefix of the reference, in order, byte for byte.
  if (delivered.size() > expected.frames.size()) std::abort();
  size_t consumed = 0;
  for (size_t i = 0; i < delivered.size(); ++i) {
    if (delivered[i] != expected.frames[i]) std::abort();
    consumed += 4 + delivered[i].size();
  }
  if (data_loss) {
    // Only an over-limit length, right where delivery stopped.
    if (!expected.oversized || delivered.size() != expected.frames.size()) std::abort();
    return;
  }
  // A clean end of stream: every complete frame was delivered, and what is
  // left is exactly the incomplete (or over-limit) tail.
  if (delivered.size() != expected.frames.size()) std::abort();
  if (reader.buffered() != stream.size() - consumed) std::abort();
  if (expected.oversized && reader.buffered() == 0) std::abort();
}

// The runner's side: blocking reads of HostMessage frames until the end.
void RunnerSide(std::string_view stream) {
  // Write everything first; only inputs that fit the socket buffer.
  if (stream.size() > 64 * 1024) return;
  const Expected expected = Reference(stream);
  SocketPair pair;
  WriteAllOrDie(pair.fd[0], stream.data(), stream.size());
  if (::shutdown(pair.fd[0], SHUT_WR) != 0) std::abort();
  size_t frames = 0;
  for (;;) {
    v1::HostMessage message;
    const absl::Status status = ReadFrameBlocking(pair.fd[1], &message);
    if (!status.ok()) {
      if (status.code() == absl::StatusCode::kOutOfRange) {
        // A clean end only between frames, after all of them.
        if (frames != expected.frames.size() || expected.consumed != stream.size()) std::abort();
      } else if (status.code() != absl::StatusCode::kDataLoss) {
        std::abort();
      }
      break;
    }
    if (frames >= expected.frames.size()) std::abort();  // a frame the reference does not have
    ParseAndCheck<v1::HostMessage>(std::string(expected.frames[frames]));
    ++frames;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Protobuf logs invalid UTF-8 in string fields on every failed parse.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = ChunkSize(data[0]);
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  HostSide(stream, chunk);
  RunnerSide(stream);
  return 0;
}
