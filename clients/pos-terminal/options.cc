#include "options.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kura/base/validation.h"

namespace kura::pos_terminal {
namespace {

const char kUsage[] =
    "usage: kura-pos --gateway=HOST:PORT --terminal=ID --data-dir=DIR [flags]\n"
    "\n"
    "  --gateway=HOST:PORT    the POS gateway (PosGatewayService); required\n"
    "  --token=T              the terminal's token (default: $KURA_POS_TOKEN); required\n"
    "                         (visible to local users in ps: prefer the variable or a file)\n"
    "  --token-file=PATH      read the token from PATH (trailing whitespace trimmed)\n"
    "  --terminal=ID          the terminal id as issued; transaction ids are ID-SERIES-N; "
    "required\n"
    "  --data-dir=DIR         holds kura-pos.db (journal, counter, offline catalog); required\n"
    "  --scanner=PATH         scanner device (tty, /dev/ttyACM0, FIFO); default: scans on stdin\n"
    "  --baud=9600            serial speed (1200 to 230400); ignored by ttys that are no port\n"
    "  --parity=none          none, even or odd (8 data bits, 1 stop bit)\n"
    "  --suffix=cr            what ends a scan: cr, lf or crlf\n"
    "  --printer=none         none, file:PATH, device:PATH or tcp:HOST[:PORT] (port 9100)\n"
    "  --columns=48           printer columns at normal size (even, 32 to 64; 42 or 48 on 80 mm)\n"
    "  --sync-interval=2s     how often pending journal entries are replayed\n"
    "  --call-timeout=3s      deadline of each gateway call and of each print job\n"
    "  --help                 this text and the commands\n";

absl::Status Bad(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<absl::Duration> PositiveDuration(absl::string_view flag, const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    return Bad(flag, absl::StrCat("'", text, "' is not a positive duration such as 2s or 500ms"));
  }
  return d;
}

// The token alone: a trailing newline (or any trailing whitespace) is no part of it.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  std::string token(absl::StripTrailingAsciiWhitespace(text.str()));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is empty"));
  return token;
}

}  // namespace

const char* Usage() { return kUsage; }

absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args, const char* env_token) {
  static const char* const kNames[] = {
      "gateway", "token",  "token-file", "terminal",      "data-dir",     "scanner", "baud",
      "parity",  "suffix", "printer",    "sync-interval", "call-timeout", "columns"};
  std::map<std::string, std::string> values;
  Options options;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    }
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2), value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else {
      return Bad(name, "needs a value: --name=value");
    }
    bool known = false;
    for (const char* n : kNames) known |= name == n;
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    values[name] = value;
  }
  auto get = [&values](const char* name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };

  options.gateway = get("gateway");
  if (options.gateway.empty()) return Bad("gateway", "HOST:PORT is required");
  if (values.count("token") && values.count("token-file")) {
    return Bad("token-file", "give the token once: --token or --token-file, not both");
  }
  if (values.count("token-file")) {
    absl::StatusOr<std::string> token = ReadTokenFile(get("token-file"));
    if (!token.ok()) return Bad("token-file", token.status().message());
    options.token = *std::move(token);
  } else {
    options.token = values.count("token") ? get("token") : (env_token ? env_token : "");
  }
  if (options.token.empty()) {
    return Bad("token", "required (or set KURA_POS_TOKEN, or give --token-file)");
  }
  options.terminal = get("terminal");
  // The id the terminal was issued under (a code: a-z 0-9 - _), and the prefix of its
  // transaction ids.
  if (!ValidateCode("terminal", options.terminal).ok() || options.terminal.size() > 40) {
    return Bad("terminal", "1 to 40 characters of a-z 0-9 - _ are required");
  }
  options.data_dir = get("data-dir");
  if (options.data_dir.empty()) return Bad("data-dir", "a directory is required");
  options.scanner = get("scanner");
  if (values.count("baud")) {
    if (!absl::SimpleAtoi(get("baud"), &options.serial.baud)) options.serial.baud = -1;
    if (absl::Status s = ValidateBaud(options.serial.baud); !s.ok())
      return Bad("baud", s.message());
  }
  if (values.count("parity")) {
    absl::StatusOr<Parity> parity = ParseParity(get("parity"));
    if (!parity.ok()) return Bad("parity", parity.status().message());
    options.serial.parity = *parity;
  }
  if (values.count("suffix")) {
    absl::StatusOr<ScanSuffix> suffix = ParseScanSuffix(get("suffix"));
    if (!suffix.ok()) return Bad("suffix", suffix.status().message());
    options.suffix = *suffix;
  }
  if (values.count("printer")) {
    absl::StatusOr<PrinterTarget> printer = ParsePrinterTarget(get("printer"));
    if (!printer.ok()) return Bad("printer", printer.status().message());
    options.printer = *printer;
  }
  if (values.count("columns") &&
      (!absl::SimpleAtoi(get("columns"), &options.columns) || options.columns < 32 ||
       options.columns > 64 || options.columns % 2 != 0)) {
    return Bad("columns", "an even number from 32 to 64 (42 or 48 on 80 mm paper)");
  }
  if (values.count("sync-interval")) {
    absl::StatusOr<absl::Duration> d = PositiveDuration("sync-interval", get("sync-interval"));
    if (!d.ok()) return d.status();
    options.sync_interval = *d;
  }
  if (values.count("call-timeout")) {
    absl::StatusOr<absl::Duration> d = PositiveDuration("call-timeout", get("call-timeout"));
    if (!d.ok()) return d.status();
    options.call_timeout = *d;
  }
  return options;
}

}  // namespace kura::pos_terminal
