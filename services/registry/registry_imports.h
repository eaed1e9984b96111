#ifndef EXPERTISE_SERVICES_REGISTRY_REGISTRY_IMPORTS_H_
#define EXPERTISE_SERVICES_REGISTRY_REGISTRY_IMPORTS_H_

// The registry side of the importer pipeline: whole import streams, and
// reading imports, their rejects and incremental cursors back. Everything
// an import changes (records, withdrawals, the import's own record, its
// rejects and the incremental cursor) is one store transaction, so a crash
// or a failed policy never leaves half an import behind, and a cursor is
// never saved ahead of the records it covers.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "expertise/registry/v1/registry_service.pb.h"
#include "services/registry/registry_core.h"
#include "services/registry/registry_options.h"

namespace expertise::registry {

// One whole import stream, gathered by the adapter.
struct ImportStream {
  v1::ImportHeader header;
  std::vector<v1::ImportedRecord> records;
  std::vector<v1::ImportReject> rejects;  // found by the client
  v1::ImportEnd end;
};

// Thread-safe, as the core it works on.
class RegistryImports {
 public:
  // `core` outlives this object.
  explicit RegistryImports(RegistryCore& core) : core_(core) {}
  RegistryImports(const RegistryImports&) = delete;
  RegistryImports& operator=(const RegistryImports&) = delete;

  // Validates and applies `stream` by its reject policy; an import id used
  // before returns that import's result.
  absl::StatusOr<v1::Import> Import(ImportStream stream, const CallAccess& access = {});
  absl::StatusOr<v1::Import> Get(const v1::GetImportRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::ListImportRejectsResponse> ListRejects(
      const v1::ListImportRejectsRequest& request, const CallAccess& access = {});
  absl::StatusOr<v1::ImportCursor> GetCursor(const v1::GetImportCursorRequest& request,
                                             const CallAccess& access = {});

 private:
  // Parses `regions/{region}/imports/{id}` into the id.
  absl::StatusOr<std::string> ParseImportName(const std::string& name, absl::string_view field) const;

  RegistryCore& core_;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_REGISTRY_IMPORTS_H_
