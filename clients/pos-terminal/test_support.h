#pragma once

// Helpers of kura-pos's unit tests.

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace kura::pos_terminal::testing {

/// A fresh directory under /tmp, removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/kura-pos-test-XXXXXX";
    path_ = mkdtemp(name);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace kura::pos_terminal::testing
