#ifndef EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_
#define EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace expertise::registry {

// One numbered schema change of a store. Each store keeps its list in order
// and append-only: a migration that has shipped is never edited.
struct SchemaMigration {
  int version;
  const char* description;
  const char* sql;
};

// Whether a database at schema `found` may be opened by a binary whose
// newest is `latest`: never when it is newer (an old binary must not write
// a newer schema), and when it is behind only if migrating is allowed.
inline absl::Status CheckSchemaVersion(int found, int latest, bool migrate) {
  if (found > latest) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", found, " is newer than this binary supports (",
                     latest, "); run a newer expertise-registry"));
  }
  if (found < latest && !migrate) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", found, " is behind this binary's (", latest,
        "); run `expertise-registry migrate` or start with --migrate-on-start"));
  }
  return absl::OkStatus();
}

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_
