#include "output.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura::ctl {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

}  // namespace

std::string NewRequestId() {
  std::random_device random;
  return absl::StrCat("ctl-", absl::ToUnixMillis(absl::Now()), "-", random() % 1000000);
}

void PrintJson(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  std::printf("%s\n", out.c_str());
}

// Prints rows under headers, each column as wide as its widest cell; numbers right-aligned.
void PrintTable(const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto numeric = [](const std::string& s) {
    int64_t v;
    return !s.empty() && absl::SimpleAtoi(s, &v);
  };
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string pad(width[c] - cells[c].size(), ' ');
      out += numeric(cells[c]) ? pad + cells[c] : cells[c] + pad;
      if (c + 1 < cells.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::printf("%s\n", out.c_str());
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

// "BUCKET_SELLABLE" → "sellable"
std::string Short(const std::string& enum_name, size_t prefix) {
  return enum_name.size() > prefix ? Lower(enum_name.substr(prefix)) : enum_name;
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", absl::FromUnixSeconds(t.seconds()),
                          absl::LocalTimeZone());
}

bool ParseDate(const std::string& text, absl::Time* out) {
  std::string error;
  return absl::ParseTime("%Y-%m-%d", text, absl::LocalTimeZone(), out, &error) ||
         absl::ParseTime(absl::RFC3339_full, text, out, &error);
}

}  // namespace kura::ctl
