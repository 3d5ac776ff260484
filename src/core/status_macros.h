#pragma once
// abseil 20220623 has no RETURN_IF_ERROR / ASSIGN_OR_RETURN; these are ours.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ICAHT_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status icaht_status_ = (expr);         \
    if (!icaht_status_.ok()) return icaht_status_; \
  } while (0)

#define ICAHT_CONCAT_INNER(a, b) a##b
#define ICAHT_CONCAT(a, b) ICAHT_CONCAT_INNER(a, b)
#define ICAHT_ASSIGN_OR_RETURN(lhs, expr) \
  ICAHT_ASSIGN_OR_RETURN_IMPL(ICAHT_CONCAT(icaht_statusor_, __LINE__), lhs, expr)
#define ICAHT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(*tmp)
