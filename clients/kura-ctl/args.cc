#include "args.h"

#include "absl/strings/str_cat.h"

namespace kura::ctl {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& argv,
                                 const std::set<std::string>& flags,
                                 const std::set<std::string>& valued) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      args.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (flags.count(name)) {
      if (inline_value)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      args.options_.emplace(name, "");
    } else if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) {
          return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
        }
        value = argv[++i];
      }
      args.options_.emplace(name, value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
  }
  return args;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  std::string value = fallback;
  auto [begin, end] = options_.equal_range(name);
  for (auto it = begin; it != end; ++it) value = it->second;
  return value;
}

std::vector<std::string> Args::All(const std::string& name) const {
  std::vector<std::string> out;
  auto [begin, end] = options_.equal_range(name);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

}  // namespace kura::ctl
