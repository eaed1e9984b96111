#include "services/importer/frame_io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace expertise::importer {
namespace {

uint32_t DecodeLength(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
}

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    // MSG_NOSIGNAL: a peer that went away is an error to report, not a
    // SIGPIPE that kills the host.
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("write: ", std::strerror(errno)));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message) {
  std::string frame(4, '\0');
  if (!message.AppendToString(&frame)) return absl::InternalError("cannot serialize frame");
  const size_t length = frame.size() - 4;
  if (length > kMaxFrameBytes) {
    return absl::ResourceExhaustedError(absl::StrCat("frame of ", length, " bytes is over the limit"));
  }
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return WriteAll(fd, frame.data(), frame.size());
}

absl::Status FrameReader::Fill(int fd) {
  // Compact consumed bytes so the buffer never grows past one frame plus a read.
  if (offset_ > 0 && offset_ * 2 >= buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  char chunk[64 * 1024];
  for (;;) {
    // recv(MSG_DONTWAIT): the fd stays blocking for writes.
    ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      if (buffered() >= 4 && DecodeLength(buffer_.data() + offset_) > kMaxFrameBytes) {
        return absl::DataLossError(absl::StrCat("frame length ", DecodeLength(buffer_.data() + offset_),
                                                " is over the ", kMaxFrameBytes, "-byte limit"));
      }
      if (buffered() > kMaxFrameBytes + 4 + sizeof chunk) return absl::OkStatus();  // let Next drain
      continue;
    }
    if (n == 0) return absl::OutOfRangeError("end of stream");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
  }
}

bool FrameReader::Next(std::string* payload) {
  if (buffered() < 4) return false;
  const uint32_t length = DecodeLength(buffer_.data() + offset_);
  if (length > kMaxFrameBytes || buffered() < 4 + size_t{length}) return false;
  payload->assign(buffer_, offset_ + 4, length);
  offset_ += 4 + length;
  return true;
}

absl::Status ReadFrameBlocking(int fd, google::protobuf::MessageLite* message) {
  char header[4];
  size_t got = 0;
  while (got < sizeof header) {
    ssize_t n = ::read(fd, header + got, sizeof header - got);
    if (n == 0) {
      return got == 0 ? absl::OutOfRangeError("end of stream")
                      : absl::DataLossError("stream ended inside a frame header");
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  const uint32_t length = DecodeLength(header);
  if (length > kMaxFrameBytes) return absl::DataLossError("frame over the size limit");
  std::string payload(length, '\0');
  got = 0;
  while (got < length) {
    ssize_t n = ::read(fd, payload.data() + got, length - got);
    if (n == 0) return absl::DataLossError("stream ended inside a frame");
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  if (!message->ParseFromString(payload)) return absl::DataLossError("frame does not parse");
  return absl::OkStatus();
}

}  // namespace expertise::importer
