#pragma once

// Conversions between protobuf messages and the rest of kura.

#include <cstdint>
#include <string>

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace kura {

/// absl::Time to a protobuf Timestamp, at microsecond precision (PostgreSQL's).
google::protobuf::Timestamp ToProto(absl::Time t);
/// A protobuf Timestamp to absl::Time.
absl::Time FromProto(const google::protobuf::Timestamp& t);
/// Microseconds since the epoch (as SQL returns them) to a protobuf Timestamp.
google::protobuf::Timestamp MicrosToProto(int64_t micros);
/// Serializes `message` deterministically (stable map order), for comparing requests.
std::string DeterministicBytes(const google::protobuf::Message& message);

}  // namespace kura
