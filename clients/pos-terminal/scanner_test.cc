#include "scanner.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "test_support.h"

namespace kura::pos_terminal {
namespace {

using Lines = std::vector<std::string>;

TEST_CASE("a CR suffix ends a scan") {
  LineSplitter s(ScanSuffix::kCr);
  CHECK(s.Feed("4901234567894\r45") == Lines{"4901234567894"});
  CHECK(s.Feed("12345678\r") == Lines{"4512345678"});
  // A stray LF (a scanner sending CRLF) never sticks to the next code; empty scans vanish.
  CHECK(s.Feed("\n4901234567894\r\r") == Lines{"4901234567894"});
  CHECK(s.Feed("123\n456") == Lines{});
  CHECK(s.Finish() == "123\n456");
  CHECK_FALSE(s.Finish().has_value());
}

TEST_CASE("an LF suffix ends a scan") {
  LineSplitter s(ScanSuffix::kLf);
  CHECK(s.Feed("4901234567894\n4512345678\r\n") == Lines{"4901234567894", "4512345678"});
  CHECK(s.Feed("pay cash 1000") == Lines{});
  CHECK(s.Feed("\n") == Lines{"pay cash 1000"});
}

TEST_CASE("a CRLF suffix ends a scan, however the bytes are chunked") {
  LineSplitter s(ScanSuffix::kCrLf);
  CHECK(s.Feed("4901234567894\r") == Lines{});
  CHECK(s.Feed("\n45123") == Lines{"4901234567894"});
  CHECK(s.Feed("45678\r\n1\r\n") == Lines{"4512345678", "1"});
  // A lone CR or LF does not end a scan.
  CHECK(s.Feed("12\n34\r\n") == Lines{"12\n34"});
}

TEST_CASE("noise without a suffix is dropped, not kept forever") {
  LineSplitter s(ScanSuffix::kCr);
  CHECK(s.Feed(std::string(5000, '7')) == Lines{});
  CHECK(s.Feed("4901234567894\r") == Lines{"4901234567894"});
}

TEST_CASE("serial settings are parsed and checked") {
  CHECK(*ParseScanSuffix("crlf") == ScanSuffix::kCrLf);
  CHECK_FALSE(ParseScanSuffix("tab").ok());
  CHECK(*ParseParity("odd") == Parity::kOdd);
  CHECK_FALSE(ParseParity("mark").ok());
  CHECK(ValidateBaud(9600).ok());
  CHECK(ValidateBaud(115200).ok());
  CHECK_FALSE(ValidateBaud(9601).ok());
}

TEST_CASE("a pipe is no terminal: ConfigureSerial leaves it alone") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  CHECK(ConfigureSerial(fds[0], {}).ok());
  close(fds[0]);
  close(fds[1]);
}

// A pseudo-terminal stands in for a USB-CDC scanner.
struct PseudoTerminal {
  PseudoTerminal() {
    master = posix_openpt(O_RDWR | O_NOCTTY);
    REQUIRE(master >= 0);
    REQUIRE(grantpt(master) == 0);
    REQUIRE(unlockpt(master) == 0);
    slave_path = ptsname(master);
  }
  ~PseudoTerminal() { close(master); }
  void Write(absl::string_view bytes) const {
    REQUIRE(write(master, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  }
  int master;
  std::string slave_path;
};

TEST_CASE("scans are read from a terminal in raw mode, CR kept as the suffix") {
  PseudoTerminal pty;
  InputQueue queue;
  Lines reports;
  {
    LineReader reader({.path = pty.slave_path,
                       .suffix = ScanSuffix::kCr,
                       .serial = {.baud = 9600, .parity = Parity::kEven},
                       .kind = InputLine::Source::kScanner},
                      queue, [&](std::string line) { reports.push_back(std::move(line)); });
    // Configured before the constructor returned: the terminal is raw now (no CR→NL, no echo).
    termios t;
    REQUIRE(tcgetattr(pty.master, &t) == 0);
    CHECK((t.c_iflag & ICRNL) == 0);
    CHECK((t.c_lflag & (ICANON | ECHO)) == 0);
    CHECK((t.c_cflag & CSIZE) == CS8);
    // (A pseudo-terminal keeps no line settings such as parity or speed: it ignores them.)

    pty.Write("4901234567894\r4512");
    std::optional<InputLine> line = queue.PopFor(absl::Seconds(5));
    REQUIRE(line.has_value());
    CHECK(line->source == InputLine::Source::kScanner);
    CHECK(line->text == "4901234567894");
    pty.Write("345678\r");
    line = queue.PopFor(absl::Seconds(5));
    REQUIRE(line.has_value());
    CHECK(line->text == "4512345678");
    CHECK_FALSE(queue.PopFor(absl::Milliseconds(50)).has_value());
  }
  CHECK(reports.empty());
}

TEST_CASE("a missing scanner is reported once and retried") {
  testing::TempDir dir;
  InputQueue queue;
  Lines reports;
  {
    LineReader reader({.path = dir.File("ttyACM9"),
                       .suffix = ScanSuffix::kCr,
                       .serial = {},
                       .kind = InputLine::Source::kScanner},
                      queue, [&](std::string line) { reports.push_back(std::move(line)); });
  }
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find("SCANNER " + dir.File("ttyACM9") + ": open: No such file") == 0);
}

TEST_CASE("a file of scans is read once") {
  testing::TempDir dir;
  const std::string path = dir.File("scans");
  {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT, 0600);
    REQUIRE(write(fd, "4901234567894\r\n4512345678\r\n", 27) == 27);
    close(fd);
  }
  InputQueue queue;
  LineReader reader({.path = path,
                     .suffix = ScanSuffix::kCrLf,
                     .serial = {},
                     .kind = InputLine::Source::kScanner},
                    queue, [](std::string) {});
  CHECK(queue.PopFor(absl::Seconds(5))->text == "4901234567894");
  CHECK(queue.PopFor(absl::Seconds(5))->text == "4512345678");
  CHECK_FALSE(queue.PopFor(absl::Milliseconds(100)).has_value());
}

}  // namespace
}  // namespace kura::pos_terminal
