#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kura::ctl {

/// A command's arguments: positionals and --options. Options named in `flags` take no value;
/// the others take the next argument (or the part after '='), and may repeat.
class Args {
 public:
  /// Parses `argv`; INVALID_ARGUMENT for an option not in `flags` or `valued`, or one that
  /// lacks its value.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& argv,
                                    const std::set<std::string>& flags,
                                    const std::set<std::string>& valued);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& name) const { return options_.count(name) > 0; }
  /// The last value of an option, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  /// Every value of a repeatable option, in order.
  std::vector<std::string> All(const std::string& name) const;

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> options_;
};

}  // namespace kura::ctl
