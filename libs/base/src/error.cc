#include "kura/base/error.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"

namespace kura {
namespace {

std::optional<google::rpc::ErrorInfo> ErrorInfoOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::ErrorInfo info;
  if (!info.ParseFromString(std::string(*payload))) return std::nullopt;
  return info;
}

}  // namespace

absl::Status MakeError(absl::StatusCode code, absl::string_view reason, absl::string_view message,
                       std::map<std::string, std::string> metadata, absl::string_view domain) {
  absl::Status status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(domain));
  for (auto& [key, value] : metadata) (*info.mutable_metadata())[key] = value;
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status InvalidArgument(absl::string_view field, absl::string_view message) {
  return MakeError(absl::StatusCode::kInvalidArgument, "INVALID_ARGUMENT", message,
                   {{"field", std::string(field)}});
}

absl::Status IdempotencyKeyReused(absl::string_view request_id) {
  return MakeError(
      absl::StatusCode::kInvalidArgument, "IDEMPOTENCY_KEY_REUSED",
      absl::StrCat("request_id \"", request_id, "\" was already used for a different request"),
      {{"request_id", std::string(request_id)}});
}

std::string ErrorReason(const absl::Status& status) {
  auto info = ErrorInfoOf(status);
  return info ? info->reason() : std::string();
}

std::string ErrorDomain(const absl::Status& status) {
  auto info = ErrorInfoOf(status);
  return info ? info->domain() : std::string();
}

std::map<std::string, std::string> ErrorMetadata(const absl::Status& status) {
  std::map<std::string, std::string> out;
  if (auto info = ErrorInfoOf(status)) {
    for (const auto& [key, value] : info->metadata()) out[key] = value;
  }
  return out;
}

}  // namespace kura
