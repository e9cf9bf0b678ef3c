#pragma once

// kura-pos's command-line flags.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "printer.h"
#include "scanner.h"

namespace kura::pos_terminal {

/// How the register was started.
struct Options {
  /// The PosGatewayService address, HOST:PORT.
  std::string gateway;
  /// The terminal's token, sent as `authorization: Bearer <token>`: from --token, else the
  /// file --token-file names, else $KURA_POS_TOKEN.
  std::string token;
  /// The terminal id: prefixes transaction ids (`<terminal>-<n>`).
  std::string terminal;
  /// Holds kura-pos.db (journal, transaction counter, offline catalog).
  std::string data_dir;
  /// The scanner device; empty: scans come on standard input with the commands.
  std::string scanner;
  SerialSettings serial;
  ScanSuffix suffix = ScanSuffix::kCr;
  PrinterTarget printer;
  /// Half-width columns of the printer (and of the screen rendering).
  int columns = 48;
  /// How often the journal is replayed while entries are pending.
  absl::Duration sync_interval = absl::Seconds(2);
  /// Deadline of each gateway call (and of one print job).
  absl::Duration call_timeout = absl::Seconds(3);
  /// --help was given.
  bool help = false;
};

/// The usage text: every flag and its default.
const char* Usage();

/// Parses `args` (argv without the program name), each `--name=value`, and reads the token file
/// if one is given (its trailing whitespace trimmed). `env_token` is $KURA_POS_TOKEN (may be
/// null); --token or --token-file wins over it (not both). Errors: INVALID_ARGUMENT with a
/// one-line message for an unknown flag, a bad value, a missing required flag, or a token file
/// that cannot be read or is empty.
[[nodiscard]] absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args,
                                                   const char* env_token);

}  // namespace kura::pos_terminal
