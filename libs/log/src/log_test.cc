#include "kura/log/log.h"

#include <catch2/catch.hpp>
#include <cstdio>

namespace kura::log {
namespace {

TEST_CASE("A log line is one JSON object with the fixed keys first") {
  std::string line =
      FormatLine("2026-11-26T10:00:00.000Z", Level::kWarn, "kura-ledger", "db \"down\"\n",
                 "4bf92f3577b34da6a3ce929d0e0e4736", {{"attempt", 3}, {"host", "db\\1"}});
  REQUIRE(line ==
          "{\"ts\":\"2026-11-26T10:00:00.000Z\",\"level\":\"warn\",\"service\":\"kura-ledger\","
          "\"msg\":\"db \\\"down\\\"\\n\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
          "\"attempt\":3,\"host\":\"db\\\\1\"}");
}

TEST_CASE("Control characters are escaped") {
  std::string out;
  AppendJsonEscaped(out, std::string("a\x01z", 3));
  REQUIRE(out == "a\\u0001z");
}

TEST_CASE("Write honours the level and the current trace scope") {
  std::FILE* f = std::tmpfile();
  Init("kura-test", Level::kInfo, f);
  REQUIRE_FALSE(Enabled(Level::kDebug));
  REQUIRE(Enabled(Level::kInfo));
  REQUIRE(Enabled(Level::kError));
  Debug("hidden");
  {
    TraceScope scope("0af7651916cd43dd8448eb211c80319c");
    Info("shown", {{"n", 1}});
  }
  Info("after");
  Init("kura-test", Level::kInfo, stderr);
  std::rewind(f);
  char buf[4096] = {};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  std::string text(buf, n);
  REQUIRE(text.find("hidden") == std::string::npos);
  REQUIRE(
      text.find("\"msg\":\"shown\",\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"n\":1}") !=
      std::string::npos);
  REQUIRE(text.find("\"msg\":\"after\",\"trace_id\":\"\"}") != std::string::npos);
}

TEST_CASE("traceparent is parsed as W3C Trace Context specifies") {
  auto tp = ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(tp.has_value());
  REQUIRE(tp->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  REQUIRE(tp->parent_id == "00f067aa0ba902b7");
  REQUIRE(tp->flags == 1);

  // A later version may carry more fields after the flags.
  REQUIRE(ParseTraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"));

  for (const char* bad : {
           "", "garbage",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // v00 is exact
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // invalid version
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero parent id
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // upper case
       }) {
    INFO(bad);
    REQUIRE_FALSE(ParseTraceParent(bad).has_value());
  }
}

TEST_CASE("Levels parse from their names") {
  REQUIRE(ParseLevel("debug") == Level::kDebug);
  REQUIRE(ParseLevel("error") == Level::kError);
  REQUIRE_FALSE(ParseLevel("verbose").has_value());
}

}  // namespace
}  // namespace kura::log
