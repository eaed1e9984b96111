#ifndef EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_
#define EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_

// Abseil 20220623 (Debian 12) has no status macros of its own; replace these
// with absl/status/status_macros.h when the project moves to an LTS with them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EXPERTISE_STATUS_CONCAT_INNER(a, b) a##b
#define EXPERTISE_STATUS_CONCAT(a, b) EXPERTISE_STATUS_CONCAT_INNER(a, b)

// Each expansion names its status variable apart (__COUNTER__), so a
// RETURN_IF_ERROR inside a lambda passed to another does not shadow it.
#define RETURN_IF_ERROR(expr) EXPERTISE_RETURN_IF_ERROR_IMPL(EXPERTISE_STATUS_CONCAT(_st_, __COUNTER__), expr)
#define EXPERTISE_RETURN_IF_ERROR_IMPL(status, expr)                   \
  do {                                                                 \
    if (absl::Status status = (expr); !status.ok()) return status;     \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, rexpr)                               \
  auto EXPERTISE_STATUS_CONCAT(_sor_, __LINE__) = (rexpr);         \
  if (!EXPERTISE_STATUS_CONCAT(_sor_, __LINE__).ok())              \
    return EXPERTISE_STATUS_CONCAT(_sor_, __LINE__).status();      \
  lhs = *std::move(EXPERTISE_STATUS_CONCAT(_sor_, __LINE__))

#endif  // EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_
