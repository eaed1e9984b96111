/* Copyright expertise-directory authors.
 *
 * A deliberately badly behaved importer, written against the plain C ABI,
 * for the host's hostile-plugin tests. Config `behaviour` picks the fault;
 * `after_records` good records are emitted first so reports can be checked
 * for "records done". Never installed. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "expertise/importer_abi.h"

typedef struct hostile {
  char behaviour[32];
  long after_records;
  long port;
  volatile int cancelled;
} hostile;

static const expertise_config_key kKeys[] = {
    {"behaviour", EXPERTISE_CONFIG_ENUM, 1, NULL,
     "ok|crash|abort|hang|memory|stdout|garbage|network|exit", 0,
     "Which fault to show."},
    {"after_records", EXPERTISE_CONFIG_INT, 0, "2", NULL, 0, "Good records emitted before the fault."},
    {"port", EXPERTISE_CONFIG_INT, 0, "0", NULL, 0, "network: loopback TCP port to try."},
};

static const expertise_plugin_spec kSpec = {sizeof(expertise_plugin_spec),
                                            EXPERTISE_RECORD_FORMAT_MAJOR,
                                            EXPERTISE_RECORD_FORMAT_MINOR,
                                            EXPERTISE_SYNC_SNAPSHOT,
                                            "text/plain",
                                            NULL};

static const expertise_plugin_spec* Spec(void) { return &kSpec; }

static const char* Find(const expertise_config* c, const char* key) {
  for (size_t i = 0; i < c->n_entries; ++i) {
    if (strcmp(c->entries[i].key, key) == 0) return c->entries[i].value;
  }
  return NULL;
}

static int Check(const expertise_config* config, const expertise_host_api* host, void* hctx,
                 void** instance) {
  hostile* h = calloc(1, sizeof *h);
  if (!h) return EXPERTISE_ERROR;
  const char* b = Find(config, "behaviour");
  snprintf(h->behaviour, sizeof h->behaviour, "%s", b ? b : "ok");
  const char* n = Find(config, "after_records");
  h->after_records = n ? atol(n) : 2;
  const char* p = Find(config, "port");
  h->port = p ? atol(p) : 0;
  if (strcmp(h->behaviour, "network") == 0 && h->port <= 0) {
    host->config_error(hctx, "port", "network needs a port");
    free(h);
    return EXPERTISE_INVALID_CONFIG;
  }
  *instance = h;
  return EXPERTISE_OK;
}

static int EmitGood(hostile* h, const expertise_host_api* host, void* hctx, long i) {
  char json[512];
  int len = snprintf(json, sizeof json,
                     "{\"externalId\":\"h-%ld\",\"displayName\":\"Test Person %ld\","
                     "\"role\":\"speech-language-therapist\",\"ageRange\":{\"minAge\":0,\"maxAge\":19},"
                     "\"deliveryModes\":[\"DELIVERY_MODE_IN_PERSON\"],"
                     "\"employerType\":\"EMPLOYER_TYPE_NHS\",\"visibility\":\"VISIBILITY_REGION\"}",
                     i, i);
  expertise_location where = {sizeof where, "input.txt", (uint64_t)(i + 1), NULL, NULL, NULL};
  return host->emit(hctx, json, (size_t)len, &where);
}

/* A real memory fault, not a raised signal. Exempt from UBSan: in sanitizer builds it would
 * otherwise report the null store and exit(1) instead of faulting (which is what we test). */
__attribute__((no_sanitize("undefined"), noinline)) static void WriteThroughNull(void) {
  volatile int* null_pointer = NULL;
  *null_pointer = 42;
}

static int Read(void* instance, const expertise_read_request* request, const expertise_host_api* host,
                void* hctx) {
  hostile* h = instance;
  for (long i = 0; i < h->after_records; ++i) {
    if (h->cancelled) return EXPERTISE_CANCELLED;
    if (EmitGood(h, host, hctx, i) != EXPERTISE_OK) return EXPERTISE_CANCELLED;
  }
  host->log(hctx, EXPERTISE_LOG_INFO, "about to misbehave", NULL, 0);
  const char* b = h->behaviour;
  if (strcmp(b, "crash") == 0) {
    WriteThroughNull();
  } else if (strcmp(b, "abort") == 0) {
    abort();
  } else if (strcmp(b, "exit") == 0) {
    _exit(7);
  } else if (strcmp(b, "hang") == 0) {
    for (;;) sleep(1); /* ignores cancel on purpose */
  } else if (strcmp(b, "memory") == 0) {
    for (;;) {
      char* block = malloc(16 << 20);
      if (!block) {
        host->log(hctx, EXPERTISE_LOG_ERROR, "malloc failed", NULL, 0);
        return EXPERTISE_ERROR;
      }
      memset(block, 1, 16 << 20); /* touch it so it counts */
    }
  } else if (strcmp(b, "stdout") == 0) {
    /* A stray printf must never reach the data channel. */
    printf("{\"externalId\":\"injected\"}\n");
    fflush(stdout);
    fprintf(stderr, "plugin wrote to stderr\n");
    return EmitGood(h, host, hctx, h->after_records) == EXPERTISE_OK ? EXPERTISE_OK
                                                                     : EXPERTISE_CANCELLED;
  } else if (strcmp(b, "garbage") == 0) {
    static const char* kBad[] = {
        "not json at all",
        "{\"externalId\":\"g-1\",\"unknownField\":1}",
        "{\"externalId\":\"g-2\",\"role\":42}",
        "[1,2,3]",
        "{\"externalId\":\"g-3\",\"displayName\":\"x\",\"role\":\"not-a-role\"}",
        "{\"externalId\":\"\xff\xfe\"}",
    };
    for (size_t i = 0; i < sizeof kBad / sizeof kBad[0]; ++i) {
      expertise_location where = {sizeof where, "input.txt", 100 + i, NULL, NULL, NULL};
      host->emit(hctx, kBad[i], strlen(kBad[i]), &where);
    }
    host->emit(hctx, NULL, 5, NULL);                      /* null pointer with a length */
    host->reject(hctx, NULL, 999, NULL, NULL, NULL);      /* bad reason, no location */
    host->checkpoint(hctx, NULL);
    return EXPERTISE_OK;
  } else if (strcmp(b, "network") == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char line[160];
    if (fd < 0) {
      snprintf(line, sizeof line, "network: socket failed: %s", strerror(errno));
    } else {
      struct sockaddr_in addr;
      memset(&addr, 0, sizeof addr);
      addr.sin_family = AF_INET;
      addr.sin_port = htons((uint16_t)h->port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, (struct sockaddr*)&addr, sizeof addr) == 0) {
        snprintf(line, sizeof line, "network: CONNECTED");
      } else {
        snprintf(line, sizeof line, "network: connect failed: %s", strerror(errno));
      }
      close(fd);
    }
    host->log(hctx, EXPERTISE_LOG_WARN, line, NULL, 0);
    return EXPERTISE_OK;
  }
  (void)request;
  return EXPERTISE_OK;
}

static void Cancel(void* instance) { ((hostile*)instance)->cancelled = 1; }
static void Close(void* instance) { free(instance); }

static const expertise_plugin_ops kOps = {sizeof(expertise_plugin_ops), Spec, Check, Read, Cancel,
                                          Close};

static const expertise_plugin_info kInfo = {EXPERTISE_IMPORTER_MAGIC,
                                            sizeof(expertise_plugin_info),
                                            EXPERTISE_IMPORTER_ABI_MAJOR,
                                            EXPERTISE_TEST_ABI_MINOR,
                                            EXPERTISE_TEST_PLUGIN_NAME,
                                            "0.0.1",
                                            "Misbehaves on purpose (tests only).",
                                            kKeys,
                                            sizeof kKeys / sizeof kKeys[0],
                                            &kOps};

EXPERTISE_IMPORTER_EXPORT const expertise_plugin_info* expertise_importer_plugin_v1(void) {
  return &kInfo;
}
