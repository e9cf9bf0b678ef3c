#include "kura/config/config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "kura/base/error.h"

namespace kura::config {
namespace {

const std::map<std::string, std::string> kDefaults = {
    {"grpc_listen", "0.0.0.0:7101"}, {"db_pool_size", "8"}, {"log_level", "info"},
    {"shutdown_grace", "5s"},        {"db_dsn", ""},
};

// A config file in the temporary directory, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& text)
      : path_("/tmp/kura_config_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter_++)) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

TEST_CASE("Defaults apply when nothing overrides them") {
  auto config = Config::Load(kDefaults, "", {});
  REQUIRE(config.ok());
  REQUIRE(*config->GetInt("db_pool_size", 1, 64) == 8);
  REQUIRE(config->Source("db_pool_size") == "default");
}

TEST_CASE("A file overrides defaults and the environment overrides the file") {
  TempFile file("# comment\n\ndb_pool_size = 4\nlog_level = \"debug\"\n");
  Environment env = {{"KURA_DB_POOL_SIZE", "2"}, {"UNRELATED", "x"}};
  auto config = Config::Load(kDefaults, file.path(), env);
  REQUIRE(config.ok());
  REQUIRE(*config->GetInt("db_pool_size", 1, 64) == 2);
  REQUIRE(config->Source("db_pool_size") == "env KURA_DB_POOL_SIZE");
  REQUIRE(*config->GetEnum("log_level", {"debug", "info"}) == "debug");
  REQUIRE(config->Source("log_level") == "file " + file.path() + ":4");
  REQUIRE(*config->GetListenAddress("grpc_listen") == "0.0.0.0:7101");
}

TEST_CASE("Validation errors name the setting and where its value came from") {
  Environment env = {{"KURA_DB_POOL_SIZE", "many"},
                     {"KURA_SHUTDOWN_GRACE", "soon"},
                     {"KURA_GRPC_LISTEN", "7101"},
                     {"KURA_LOG_LEVEL", "loud"}};
  auto config = Config::Load(kDefaults, "", env);
  REQUIRE(config.ok());

  absl::Status pool = config->GetInt("db_pool_size", 1, 64).status();
  REQUIRE(pool.code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(pool.message()) ==
          "config: db_pool_size: \"many\" is not an integer (from env KURA_DB_POOL_SIZE)");
  REQUIRE(ErrorMetadata(pool).at("setting") == "db_pool_size");

  REQUIRE(config->GetDuration("shutdown_grace", absl::ZeroDuration(), absl::Minutes(1))
              .status()
              .message()
              .find("shutdown_grace") != std::string::npos);
  REQUIRE(!config->GetListenAddress("grpc_listen").ok());
  REQUIRE(!config->GetEnum("log_level", {"debug", "info"}).ok());
  REQUIRE(std::string(config->GetRequiredString("db_dsn").status().message()) ==
          "config: db_dsn: is required (from default)");
}

TEST_CASE("Out-of-range values are rejected") {
  auto config = Config::Load(kDefaults, "", {{"KURA_DB_POOL_SIZE", "0"}});
  REQUIRE(std::string(config->GetInt("db_pool_size", 1, 64).status().message()) ==
          "config: db_pool_size: 0 is outside [1, 64] (from env KURA_DB_POOL_SIZE)");
  auto grace = Config::Load(kDefaults, "", {{"KURA_SHUTDOWN_GRACE", "2h"}});
  REQUIRE(!grace->GetDuration("shutdown_grace", absl::ZeroDuration(), absl::Minutes(1)).ok());
}

TEST_CASE("A file with an unknown key or a malformed line is rejected") {
  TempFile typo("db_pool_sise = 4\n");
  auto unknown = Config::Load(kDefaults, typo.path(), {});
  REQUIRE(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(unknown.status().message()).find("unknown setting `db_pool_sise`") !=
          std::string::npos);

  TempFile malformed("log_level debug\n");
  auto bad = Config::Load(kDefaults, malformed.path(), {});
  REQUIRE(std::string(bad.status().message()) ==
          "config file " + malformed.path() + ":1: expected `key = value`");

  auto missing = Config::Load(kDefaults, "/nonexistent/kura.conf", {});
  REQUIRE(missing.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("EnvName upper-cases the key under the KURA_ prefix") {
  REQUIRE(EnvName("db_dsn") == "KURA_DB_DSN");
}

}  // namespace
}  // namespace kura::config
