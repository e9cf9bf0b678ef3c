#include "validate.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "kura/base/error.h"
#include "kura/base/status_macros.h"
#include "kura/base/validation.h"

namespace kura::ledger {
namespace {

constexpr int kMaxMovements = 1000;
constexpr int kMaxHoldLines = 200;

absl::Status ValidateMovement(int index, const v1::MovementRequest& m) {
  std::string at = absl::StrCat("movements[", index, "]");
  if (!v1::MovementKind_IsValid(m.kind()) || m.kind() == v1::MOVEMENT_KIND_UNSPECIFIED ||
      m.kind() > v1::MOVEMENT_KIND_ADJUST) {
    return InvalidArgument(at + ".kind",
                           at + ".kind must be one of the kinds ApplyMovements takes");
  }
  RETURN_IF_ERROR(ValidateSku(at + ".sku", m.sku()));
  RETURN_IF_ERROR(ValidateCode(at + ".location", m.location()));
  if (m.kind() == v1::MOVEMENT_KIND_COUNT) {
    if (m.quantity() != 0) return InvalidArgument(at + ".quantity", "COUNT takes counted_quantity");
    if (m.counted_quantity() < 0 || m.counted_quantity() > kMaxQuantity) {
      return InvalidArgument(
          at + ".counted_quantity",
          at + ".counted_quantity must be between 0 and " + std::to_string(kMaxQuantity));
    }
  } else if (m.kind() == v1::MOVEMENT_KIND_ADJUST) {
    if (m.quantity() == 0 || m.quantity() < -kMaxQuantity || m.quantity() > kMaxQuantity) {
      return InvalidArgument(at + ".quantity", at + ".quantity must be a non-zero delta within " +
                                                   std::to_string(kMaxQuantity));
    }
  } else {
    RETURN_IF_ERROR(ValidateQuantity(at + ".quantity", m.quantity()));
  }
  if (m.kind() == v1::MOVEMENT_KIND_TRANSFER_SHIP) {
    RETURN_IF_ERROR(ValidateCode(at + ".to_location", m.to_location()));
    if (m.to_location() == m.location()) {
      return InvalidArgument(at + ".to_location", "a transfer must go to another location");
    }
  } else if (!m.to_location().empty()) {
    return InvalidArgument(at + ".to_location", "only TRANSFER_SHIP takes to_location");
  }
  if (m.kind() == v1::MOVEMENT_KIND_ORDER_INCOMING && !m.has_expected_at()) {
    return InvalidArgument(at + ".expected_at", "ORDER_INCOMING needs expected_at");
  }
  if (m.has_expected_at()) RETURN_IF_ERROR(ValidateTimestamp(at + ".expected_at", m.expected_at()));
  if (m.has_occurred_at()) RETURN_IF_ERROR(ValidateTimestamp(at + ".occurred_at", m.occurred_at()));
  if (!m.channel().empty()) RETURN_IF_ERROR(ValidateCode(at + ".channel", m.channel()));
  return ValidateRef(at + ".source_ref", m.source_ref());
}

absl::Status ValidateCommitted(const std::string& sku, const std::string& location,
                               int64_t quantity, const std::string& channel,
                               const std::string& order_ref) {
  RETURN_IF_ERROR(ValidateSku("sku", sku));
  RETURN_IF_ERROR(ValidateCode("location", location));
  RETURN_IF_ERROR(ValidateQuantity("quantity", quantity));
  RETURN_IF_ERROR(ValidateCode("channel", channel));
  return ValidateRef("order_ref", order_ref);
}

}  // namespace

absl::Status Validate(const v1::CreateHoldsRequest& request) {
  RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  if (request.lines().empty()) return InvalidArgument("lines", "lines is empty");
  if (request.lines_size() > kMaxHoldLines) {
    return InvalidArgument("lines", absl::StrCat("at most ", kMaxHoldLines, " lines"));
  }
  if (!request.has_expires_at()) return InvalidArgument("expires_at", "expires_at is required");
  RETURN_IF_ERROR(ValidateTimestamp("expires_at", request.expires_at()));
  RETURN_IF_ERROR(ValidateRef("order_ref", request.order_ref()));
  RETURN_IF_ERROR(ValidateRef("customer_ref", request.customer_ref()));
  std::set<std::string> ids;
  for (int i = 0; i < request.lines_size(); ++i) {
    const v1::HoldLine& line = request.lines(i);
    std::string at = absl::StrCat("lines[", i, "]");
    RETURN_IF_ERROR(ValidateHoldId(at + ".hold_id", line.hold_id()));
    if (!ids.insert(line.hold_id()).second) {
      return InvalidArgument(at + ".hold_id", "hold ids must differ within a request");
    }
    RETURN_IF_ERROR(ValidateSku(at + ".sku", line.sku()));
    RETURN_IF_ERROR(ValidateCode(at + ".location", line.location()));
    RETURN_IF_ERROR(ValidateQuantity(at + ".quantity", line.quantity()));
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::PostHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  if (request.quantity() < 0 || request.quantity() > kMaxQuantity) {
    return InvalidArgument("quantity", "quantity must be 0 (all) or positive");
  }
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::VoidHoldRequest& request) {
  RETURN_IF_ERROR(ValidateHoldId("hold_id", request.hold_id()));
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::ApplyMovementsRequest& request) {
  if (request.movements().empty()) return InvalidArgument("movements", "movements is empty");
  if (request.movements_size() > kMaxMovements) {
    return InvalidArgument("movements", absl::StrCat("at most ", kMaxMovements, " movements"));
  }
  for (int i = 0; i < request.movements_size(); ++i) {
    RETURN_IF_ERROR(ValidateMovement(i, request.movements(i)));
  }
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::FulfilCommittedRequest& request) {
  RETURN_IF_ERROR(ValidateCommitted(request.sku(), request.location(), request.quantity(),
                                    request.channel(), request.order_ref()));
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::CancelCommittedRequest& request) {
  RETURN_IF_ERROR(ValidateCommitted(request.sku(), request.location(), request.quantity(),
                                    request.channel(), request.order_ref()));
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::SetSafetyStockRequest& request) {
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.quantity() < 0 || request.quantity() > kMaxQuantity) {
    return InvalidArgument("quantity",
                           "quantity must be between 0 and " + std::to_string(kMaxQuantity));
  }
  return ValidateRequestId(request.request_id());
}

absl::Status Validate(const v1::SetChannelAllocationRequest& request) {
  RETURN_IF_ERROR(ValidateCode("channel", request.channel()));
  RETURN_IF_ERROR(ValidateSku("sku", request.sku()));
  RETURN_IF_ERROR(ValidateCode("location", request.location()));
  if (request.cap_case() == v1::SetChannelAllocationRequest::kQuota &&
      (request.quota() < 0 || request.quota() > kMaxQuantity)) {
    return InvalidArgument("quota", "quota must be between 0 and " + std::to_string(kMaxQuantity));
  }
  if (request.cap_case() == v1::SetChannelAllocationRequest::kRatioBasisPoints &&
      (request.ratio_basis_points() < 1 || request.ratio_basis_points() > 10000)) {
    return InvalidArgument("ratio_basis_points", "ratio_basis_points must be 1 to 10000");
  }
  return ValidateRequestId(request.request_id());
}

}  // namespace kura::ledger
