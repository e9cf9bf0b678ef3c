#include "kura/pg/dsn.h"

#include <catch2/catch.hpp>

namespace kura::pg {
namespace {

TEST_CASE("A DSN is described without user or password") {
  REQUIRE(*DescribeDsn("postgresql://kura:s3cret@db.example:6543/kura") == "db.example:6543/kura");
  REQUIRE(*DescribeDsn("host=10.0.0.5 port=5433 dbname=stock user=u password=s3cret") ==
          "10.0.0.5:5433/stock");
  REQUIRE(*DescribeDsn("dbname=kura") == "localhost:5432/kura");
}

TEST_CASE("A malformed DSN is rejected without echoing it") {
  auto bad = DescribeDsn("postgresql://u:s3cret@host:notaport/db?bogus_option=1");
  REQUIRE(bad.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(std::string(bad.status().message()).find("s3cret") == std::string::npos);
}

TEST_CASE("Connect options are added unless the DSN sets them") {
  std::string added = *WithConnectOptions("postgresql://u@h/db", 3, "kura-ledger");
  REQUIRE(added.find("connect_timeout='3'") != std::string::npos);
  REQUIRE(added.find("application_name='kura-ledger'") != std::string::npos);
  std::string kept = *WithConnectOptions("host=h connect_timeout=9 password='a b\\'c'", 3, "x");
  REQUIRE(kept.find("connect_timeout='9'") != std::string::npos);
  REQUIRE(kept.find("password='a b\\'c'") != std::string::npos);
  std::string extra =
      *WithConnectOptions("host=h", 3, "x", {{"options", "-c statement_timeout=2000"}});
  REQUIRE(extra.find("options='-c statement_timeout=2000'") != std::string::npos);
  REQUIRE(extra.find("tcp_user_timeout='10000'") != std::string::npos);
}

}  // namespace
}  // namespace kura::pg
