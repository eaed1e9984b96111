#ifndef EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_
#define EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_

// Abseil 20220623 (Debian 12) has no status macros of its own; replace these
// with absl/status/status_macros.h when the project moves to an LTS with them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EXPERTISE_STATUS_CONCAT_INNER(a, b) a##b
#define EXPERTISE_STATUS_CONCAT(a, b) EXPERTISE_STATUS_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (absl::Status _st = (expr); !_st.ok()) return _st;     \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, rexpr)                               \
  auto EXPERTISE_STATUS_CONCAT(_sor_, __LINE__) = (rexpr);         \
  if (!EXPERTISE_STATUS_CONCAT(_sor_, __LINE__).ok())              \
    return EXPERTISE_STATUS_CONCAT(_sor_, __LINE__).status();      \
  lhs = *std::move(EXPERTISE_STATUS_CONCAT(_sor_, __LINE__))

#endif  // EXPERTISE_SERVICES_COMMON_STATUS_MACROS_H_
