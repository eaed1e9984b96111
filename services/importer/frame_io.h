#ifndef EXPERTISE_SERVICES_IMPORTER_FRAME_IO_H_
#define EXPERTISE_SERVICES_IMPORTER_FRAME_IO_H_

// Length-prefixed protobuf frames on a stream socket: the runner protocol's
// transport (proto/expertise/importer/v1/runner.proto). The reader is
// written for hostile input: the length is checked before any allocation.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"

namespace expertise::importer {

inline constexpr uint32_t kMaxFrameBytes = 4u << 20;

// Writes one frame, retrying on EINTR and short writes. Blocking fd.
absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message);

// Accumulates bytes from a non-blocking fd and yields whole frames.
class FrameReader {
 public:
  // Reads what is available from a socket without blocking. Returns OK (possibly with no new frame),
  // OUT_OF_RANGE at end of stream, DATA_LOSS for a frame over the limit.
  absl::Status Fill(int fd);
  // Extracts the next complete frame's payload into `payload`; false if
  // none is complete yet.
  bool Next(std::string* payload);
  // Bytes received but not yet returned.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::string buffer_;
  size_t offset_ = 0;
};

// Blocking read of exactly one frame into `message`. OUT_OF_RANGE at a clean
// end of stream, DATA_LOSS on a bad or oversized frame.
absl::Status ReadFrameBlocking(int fd, google::protobuf::MessageLite* message);

}  // namespace expertise::importer

#endif  // EXPERTISE_SERVICES_IMPORTER_FRAME_IO_H_
