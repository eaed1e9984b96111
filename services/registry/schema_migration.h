#ifndef EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_
#define EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_

namespace expertise::registry {

// One numbered schema change of a store. Each store keeps its list in order
// and append-only: a migration that has shipped is never edited.
struct SchemaMigration {
  int version;
  const char* description;
  const char* sql;
};

}  // namespace expertise::registry

#endif  // EXPERTISE_SERVICES_REGISTRY_SCHEMA_MIGRATION_H_
