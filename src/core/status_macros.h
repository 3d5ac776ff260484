#pragma once
// Early-return helpers for absl::Status code (abseil 20220623 ships none).
//
//   ICAHT_RETURN_IF_ERROR(DoThing());            // returns the status if !ok()
//   ICAHT_ASSIGN_OR_RETURN(auto port, Reserve()); // unwraps a StatusOr or returns its status
//
// Both work in functions (and lambdas with an explicit return type) returning
// absl::Status or absl::StatusOr<T>. ICAHT_ASSIGN_OR_RETURN declares a
// temporary, so inside a `case` it needs braces, and it can appear once per
// line.

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ICAHT_RETURN_IF_ERROR(expr)                     \
  do {                                                  \
    ::absl::Status icaht_status_macro_status_ = (expr); \
    if (!icaht_status_macro_status_.ok()) {             \
      return icaht_status_macro_status_;                \
    }                                                   \
  } while (false)

#define ICAHT_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define ICAHT_STATUS_MACROS_CONCAT_(a, b) ICAHT_STATUS_MACROS_CONCAT_INNER_(a, b)

#define ICAHT_ASSIGN_OR_RETURN(lhs, expr) \
  ICAHT_ASSIGN_OR_RETURN_IMPL_(ICAHT_STATUS_MACROS_CONCAT_(icaht_statusor_, __LINE__), lhs, expr)

#define ICAHT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                 \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = std::move(statusor).value()
