#include "services/registry/page_token.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "services/common/errors.h"
#include "services/common/fnv.h"
#include "services/common/string_view.h"

namespace expertise::registry {
namespace {

constexpr size_t kMaxRegistryTokenSize = 4096;

uint32_t Checksum(std::string_view bytes) { return static_cast<uint32_t>(Fnv1a64(bytes)); }

}  // namespace

std::string SealPageToken(internal::v1::PageToken::Kind kind,
                          const google::protobuf::MessageLite& cursor) {
  internal::v1::PageToken envelope;
  envelope.set_kind(kind);
  envelope.set_cursor(cursor.SerializeAsString());
  envelope.set_checksum(Checksum(envelope.cursor()));
  std::string token;
  absl::WebSafeBase64Escape(envelope.SerializeAsString(), &token);
  return token;
}

bool OpenPageToken(std::string_view token, size_t max_token_size, internal::v1::PageToken::Kind kind,
                   google::protobuf::MessageLite* cursor) {
  std::string raw;
  if (token.size() > max_token_size || !absl::WebSafeBase64Unescape(ToAbsl(token), &raw)) return false;
  internal::v1::PageToken envelope;
  if (!envelope.ParseFromString(raw)) return false;
  // Parsing is lenient (unknown fields, repeated fields, other field
  // orders); only the bytes SealPageToken writes are a token.
  if (envelope.SerializeAsString() != raw) return false;
  if (envelope.kind() != kind || envelope.checksum() != Checksum(envelope.cursor())) return false;
  return cursor->ParseFromString(envelope.cursor());
}

std::string EncodePageToken(const PageCursor& cursor) {
  internal::v1::RegistryPageCursor message;
  message.set_request_fingerprint(cursor.fingerprint);
  message.set_day(cursor.day);
  message.set_key(cursor.key);
  message.set_last_name(cursor.last_name);
  return SealPageToken(internal::v1::PageToken::REGISTRY, message);
}

absl::StatusOr<PageCursor> DecodePageToken(std::string_view token) {
  internal::v1::RegistryPageCursor message;
  if (!OpenPageToken(token, kMaxRegistryTokenSize, internal::v1::PageToken::REGISTRY, &message)) {
    return InvalidFieldError("page_token", "is not a page token from this service; start from the "
                                           "first page");
  }
  PageCursor cursor;
  cursor.fingerprint = message.request_fingerprint();
  cursor.day = message.day();
  cursor.key = message.key();
  cursor.last_name = message.last_name();
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
