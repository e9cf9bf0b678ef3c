#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

/// Returns from the enclosing function with the status of `expr` when it is not OK.
#define RETURN_IF_ERROR(expr)                                       \
  do {                                                              \
    if (::absl::Status kura_status_ = (expr); !kura_status_.ok()) { \
      return kura_status_;                                          \
    }                                                               \
  } while (false)

#define KURA_STATUS_CONCAT_INNER_(a, b) a##b
#define KURA_STATUS_CONCAT_(a, b) KURA_STATUS_CONCAT_INNER_(a, b)

/// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from the enclosing
/// function, otherwise moves the value into `lhs` (a declaration such as `auto x` or a name).
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  KURA_ASSIGN_OR_RETURN_IMPL_(KURA_STATUS_CONCAT_(kura_statusor_, __LINE__), lhs, rexpr)

#define KURA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) {                                   \
    return std::move(statusor).status();                  \
  }                                                       \
  lhs = *std::move(statusor)
