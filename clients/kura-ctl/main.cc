// kura-ctl: the operator and integrator CLI over kura's gRPC APIs.
#include <cstdio>
#include <string>
#include <vector>

#include "connector_commands.h"
#include "health_command.h"
#include "ledger_commands.h"
#include "pos_commands.h"
#include "reservation_commands.h"

namespace {

int Usage(std::FILE* out) {
  std::fprintf(out,
               "usage: kura-ctl COMMAND [ARGS]\n\n"
               "commands:\n"
               "  health [--addr HOST:PORT] [--service NAME] [--wait DURATION]\n"
               "          print a service's gRPC health; exit 0 when SERVING\n"
               "  version print the version\n\n%s\n%s\n%s\n%s",
               kura::ctl::LedgerUsage(), kura::ctl::ReservationUsage(), kura::ctl::ConnectorUsage(),
               kura::ctl::PosUsage());
  return out == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage(stderr);
  std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "health") return kura::ctl::RunHealthCommand(args);
  if (command == "version" || command == "--version") {
    std::printf("kura-ctl %s\n", KURA_VERSION);
    return 0;
  }
  if (int code = kura::ctl::RunLedgerCommand(command, args); code >= 0) return code;
  if (int code = kura::ctl::RunReservationCommand(command, args); code >= 0) return code;
  if (int code = kura::ctl::RunConnectorCommand(command, args); code >= 0) return code;
  if (int code = kura::ctl::RunPosCommand(command, args); code >= 0) return code;
  if (command == "help" || command == "--help" || command == "-h") return Usage(stdout);
  std::fprintf(stderr, "kura-ctl: unknown command '%s'\n", command.c_str());
  return Usage(stderr);
}
