#include "services/common/fnv.h"
#include "services/registry/page_token.h"

#include <cstring>
#include <memory>

#include "absl/strings/escaping.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/errors.h"
#include "services/common/string_view.h"

namespace expertise::registry {
namespace {

constexpr char kMagic[2] = {'X', '1'};

template <typename T>
void Append(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out->append(bytes, sizeof(T));
}

template <typename T>
T Read(std::string_view data, size_t offset) {
  T value;
  std::memcpy(&value, data.data() + offset, sizeof(T));
  return value;
}

constexpr size_t kHeader = 2 + 8 + 4 + 8;  // magic, fingerprint, day, key
constexpr size_t kCheck = 4;

}  // namespace

std::string EncodePageToken(const PageCursor& cursor) {
  std::string raw(kMagic, 2);
  Append(&raw, cursor.fingerprint);
  Append(&raw, cursor.day);
  Append(&raw, cursor.key);
  raw += cursor.last_name;
  Append(&raw, static_cast<uint32_t>(Fnv1a64(raw)));
  std::string token;
  absl::WebSafeBase64Escape(ToAbsl(raw), &token);
  return token;
}

absl::StatusOr<PageCursor> DecodePageToken(std::string_view token) {
  std::string raw;
  const absl::Status bad =
      InvalidFieldError("page_token", "is not a page token from this service; start from the "
                                      "first page");
  if (token.size() > 4096 || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw)) return bad;
  if (raw.size() < kHeader + kCheck || raw.compare(0, 2, kMagic, 2) != 0) return bad;
  const std::string_view body(raw.data(), raw.size() - kCheck);
  if (Read<uint32_t>(raw, raw.size() - kCheck) != static_cast<uint32_t>(Fnv1a64(body))) return bad;
  PageCursor cursor;
  cursor.fingerprint = Read<uint64_t>(body, 2);
  cursor.day = Read<int32_t>(body, 10);
  cursor.key = Read<double>(body, 14);
  cursor.last_name = std::string(body.substr(kHeader));
  return cursor;
}

uint64_t RequestFingerprint(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const auto* descriptor = copy->GetDescriptor();
  const auto* reflection = copy->GetReflection();
  for (const char* field : {"page_size", "page_token"}) {
    if (const auto* f = descriptor->FindFieldByName(field)) reflection->ClearField(copy.get(), f);
  }
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy->SerializeToCodedStream(&coded);
  }
  return Fnv1a64(descriptor->full_name(), Fnv1a64(bytes));
}

}  // namespace expertise::registry
