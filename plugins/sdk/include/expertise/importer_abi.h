/* Copyright expertise-directory authors.
 *
 * The importer plugin ABI, version 1.0: the only contract between an importer
 * plugin (a shared object) and the plugin runner that loads it.
 *
 * Rules (docs/plugins.md has the long form):
 * - Plain C. No C++ types, no exceptions and no allocator ownership cross this
 *   boundary: every pointer the host passes is valid only for the duration of
 *   the call, and every pointer the plugin returns stays owned by the plugin.
 * - The plugin exports exactly one symbol, expertise_importer_plugin_v1().
 *   It returns a static info block whose leading fields the runner compares
 *   one by one, so a mismatch gets a precise message.
 * - Structs carry their size first. The host function table and the
 *   operations table are APPEND-ONLY: new members go at the end, never in
 *   between, and readers check struct_size before touching a new member.
 * - Versioning: a plugin loads when its abi_major equals the host's and its
 *   abi_minor is at most the host's. A plugin built for a newer minor is
 *   refused with a message naming both versions.
 * - Strings are UTF-8 and NUL-terminated unless a length is given.
 */
#ifndef EXPERTISE_IMPORTER_ABI_H_
#define EXPERTISE_IMPORTER_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXPERTISE_IMPORTER_MAGIC 0x45585049u /* "EXPI" */
#define EXPERTISE_IMPORTER_ABI_MAJOR 1u
#define EXPERTISE_IMPORTER_ABI_MINOR 0u

/* Version of the record format (see docs/plugins.md, "Records"): records
 * are JSON objects in the proto3 JSON mapping of
 * expertise.importer.v1.SpecialistRecord. */
#define EXPERTISE_RECORD_FORMAT_MAJOR 1u
#define EXPERTISE_RECORD_FORMAT_MINOR 0u

/* Return codes of plugin operations and host functions. */
typedef enum expertise_result {
  EXPERTISE_OK = 0,
  EXPERTISE_ERROR = 1,           /* the operation failed; details were logged */
  EXPERTISE_INVALID_CONFIG = 2,  /* check(): at least one config_error was reported */
  EXPERTISE_CANCELLED = 3,       /* read() stopped because cancel() was called */
  EXPERTISE_STOP = 4             /* host function: stop reading (cancelled or too many errors) */
} expertise_result;

/* Log levels for expertise_host_api.log. */
typedef enum expertise_log_level {
  EXPERTISE_LOG_DEBUG = 0,
  EXPERTISE_LOG_INFO = 1,
  EXPERTISE_LOG_WARN = 2,
  EXPERTISE_LOG_ERROR = 3
} expertise_log_level;

/* Why a record was rejected. */
typedef enum expertise_reject_reason {
  EXPERTISE_REJECT_PARSE = 1,         /* the input could not be read (bad quoting, bad JSON, bad encoding) */
  EXPERTISE_REJECT_SCHEMA = 2,        /* a value has the wrong type or form */
  EXPERTISE_REJECT_REQUIRED = 3,      /* a required value is missing */
  EXPERTISE_REJECT_DUPLICATE_KEY = 4, /* the external id repeats an earlier record */
  EXPERTISE_REJECT_REFERENCE = 5,     /* a code or reference is unknown (role, resource id) */
  EXPERTISE_REJECT_VALUE = 6          /* a value is out of range or not allowed */
} expertise_reject_reason;

/* Types of config keys. Values always cross as strings; the host checks
 * them against the type before the plugin sees them. */
typedef enum expertise_config_type {
  EXPERTISE_CONFIG_STRING = 1,
  EXPERTISE_CONFIG_INT = 2,   /* decimal integer */
  EXPERTISE_CONFIG_BOOL = 3,  /* "true" or "false" */
  EXPERTISE_CONFIG_ENUM = 4,  /* one of allowed_values, separated by '|' */
  EXPERTISE_CONFIG_LIST = 5   /* values separated by ',' */
} expertise_config_type;

/* One declared configuration key. */
typedef struct expertise_config_key {
  const char* name;           /* lower_snake_case */
  uint32_t type;              /* expertise_config_type */
  uint32_t required;          /* 1 if the key must be given */
  const char* default_value;  /* used when not given; NULL for none */
  const char* allowed_values; /* ENUM: "a|b|c"; NULL otherwise */
  uint32_t secret;            /* 1: never logged or echoed */
  const char* description;    /* one sentence for `expertctl plugins describe` */
} expertise_config_key;

/* A configuration as the plugin receives it: every declared key that was
 * given or has a default, already type-checked by the host. */
typedef struct expertise_config_entry {
  const char* key;
  const char* value;
} expertise_config_entry;

typedef struct expertise_config {
  uint32_t struct_size;
  const expertise_config_entry* entries;
  size_t n_entries;
} expertise_config;

/* Where a rejected record was found. Unused members are NULL or 0. */
typedef struct expertise_location {
  uint32_t struct_size;
  const char* file;         /* input file name (base name) */
  uint64_t row;             /* 1-based row or line; 0 when not applicable */
  const char* column;       /* column header or index */
  const char* json_pointer; /* RFC 6901 pointer into a JSON document */
  const char* resource_id;  /* e.g. FHIR "PractitionerRole/role-001" */
} expertise_location;

/* Host functions, passed to the plugin's operations. APPEND-ONLY. Every
 * function is safe to call only from the thread running the operation. */
typedef struct expertise_host_api {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  /* Structured log line. kv holds n_kv key/value pairs (2 * n_kv strings). */
  void (*log)(void* hctx, int level, const char* message, const char* const* kv, size_t n_kv);
  /* One record: a JSON object of expertise.importer.v1.SpecialistRecord,
   * and where it was read (may be NULL), so that rejects found by the
   * host's checks point at the input too. Returns EXPERTISE_OK, or
   * EXPERTISE_STOP when the plugin must return. */
  int (*emit)(void* hctx, const char* json, size_t len, const expertise_location* where);
  /* A record the plugin could not turn into a valid record. raw_excerpt may
   * be NULL; it crosses to the host (truncated to 200 bytes) but is never
   * stored or forwarded, as it may hold personal data. Returns OK or STOP. */
  int (*reject)(void* hctx, const expertise_location* where, int reason, const char* external_id,
                const char* message, const char* raw_excerpt);
  /* Incremental mode: every record emitted before this call is covered by
   * `state` (opaque to the host, at most 4 KiB). Saved by the registry only
   * after it has committed those records. Returns OK or STOP. */
  int (*checkpoint)(void* hctx, const char* state);
  /* check(): names a bad config key and why. */
  void (*config_error)(void* hctx, const char* key, const char* message);
} expertise_host_api;

/* Sync modes a plugin supports (expertise_plugin_spec.sync_modes bits). */
#define EXPERTISE_SYNC_SNAPSHOT 1u    /* the input is a full export */
#define EXPERTISE_SYNC_INCREMENTAL 2u /* the input holds changes after a cursor */

typedef struct expertise_plugin_spec {
  uint32_t struct_size;
  uint32_t record_format_major; /* EXPERTISE_RECORD_FORMAT_MAJOR it emits */
  uint32_t record_format_minor;
  uint32_t sync_modes;          /* EXPERTISE_SYNC_* bits */
  const char* input_media_types; /* e.g. "text/csv" or "application/fhir+json|application/fhir+ndjson" */
  const char* documentation_url; /* may be NULL */
} expertise_plugin_spec;

/* What read() is asked to do. */
typedef struct expertise_read_request {
  uint32_t struct_size;
  const char* input_path;  /* readable file; inside the sandbox, a read-only bind */
  uint32_t sync_mode;      /* one EXPERTISE_SYNC_* bit */
  const char* state;       /* incremental: last committed checkpoint, "" for none */
} expertise_read_request;

/* Plugin operations. APPEND-ONLY. */
typedef struct expertise_plugin_ops {
  uint32_t struct_size;
  /* What the plugin produces and accepts. Static; never NULL. */
  const expertise_plugin_spec* (*spec)(void);
  /* Checks the config (semantics beyond the host's type checks) and creates
   * an instance. Reports each bad key with host->config_error and returns
   * EXPERTISE_INVALID_CONFIG, or returns OK and sets *instance. */
  int (*check)(const expertise_config* config, const expertise_host_api* host, void* hctx,
               void** instance);
  /* Reads the input, calling host->emit and host->reject per record and
   * host->checkpoint in incremental mode. Returns OK at the end of input,
   * EXPERTISE_CANCELLED after cancel(), ERROR on a failure that stops the
   * whole run (after logging why). */
  int (*read)(void* instance, const expertise_read_request* request, const expertise_host_api* host,
              void* hctx);
  /* Asks a running read() to stop soon. Called from another thread; must be
   * async-safe with respect to read() (set an atomic flag). */
  void (*cancel)(void* instance);
  /* Frees the instance. */
  void (*close)(void* instance);
} expertise_plugin_ops;

/* The block returned by the entry function. Static data. */
typedef struct expertise_plugin_info {
  uint32_t magic;       /* EXPERTISE_IMPORTER_MAGIC */
  uint32_t struct_size; /* sizeof(expertise_plugin_info) the plugin was built with */
  uint32_t abi_major;   /* EXPERTISE_IMPORTER_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* EXPERTISE_IMPORTER_ABI_MINOR the plugin needs */
  const char* name;     /* [a-z][a-z0-9_]{1,31}; the .so is expertise_importer_<name>.so */
  const char* version;  /* semantic version, e.g. "1.4.2" */
  const char* description;
  const expertise_config_key* config_keys;
  size_t n_config_keys;
  const expertise_plugin_ops* ops;
} expertise_plugin_info;

#define EXPERTISE_IMPORTER_ENTRY expertise_importer_plugin_v1
#define EXPERTISE_IMPORTER_ENTRY_NAME "expertise_importer_plugin_v1"

/* The one exported function. */
typedef const expertise_plugin_info* (*expertise_importer_entry_fn)(void);

#if defined(__GNUC__)
#define EXPERTISE_IMPORTER_EXPORT __attribute__((visibility("default")))
#else
#define EXPERTISE_IMPORTER_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* EXPERTISE_IMPORTER_ABI_H_ */
