#include "kura/base/proto_util.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace kura {

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp out;
  int64_t micros = absl::ToUnixMicros(t);
  out.set_seconds(micros / 1'000'000 - (micros % 1'000'000 < 0 ? 1 : 0));
  out.set_nanos(static_cast<int32_t>(((micros % 1'000'000) + 1'000'000) % 1'000'000 * 1000));
  return out;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp MicrosToProto(int64_t micros) {
  return ToProto(absl::FromUnixMicros(micros));
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace kura
