// kura-pos: the store register client. Reads scans and commands, keeps a cart, journals every
// sale and return durably before its receipt prints, sells offline from its last synced
// catalog and replays the journal to the gateway when it is back. Wiring only; see README.md.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "catalog.h"
#include "commands.h"
#include "console.h"
#include "gateway.h"
#include "journal.h"
#include "kura/base/clock.h"
#include "options.h"
#include "register.h"
#include "replayer.h"
#include "scanner.h"

namespace {

using namespace kura::pos_terminal;  // NOLINT(build/namespaces): main only wires.

// Refreshing the offline catalog more often would load the gateway for little gain.
constexpr absl::Duration kCatalogInterval = absl::Minutes(5);

int Fail(const std::string& message) {
  std::fprintf(stderr, "kura-pos: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<Options> options =
      ParseOptions(std::vector<std::string>(argv + 1, argv + argc), std::getenv("KURA_POS_TOKEN"));
  if (!options.ok()) {
    std::fprintf(stderr, "kura-pos: %s (--help lists the flags)\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  if (options->help) {
    std::printf("%s\n%s", Usage(), CommandHelp());
    return 0;
  }
  // A network printer that hangs up must not kill the register (sends use MSG_NOSIGNAL too).
  std::signal(SIGPIPE, SIG_IGN);

  if (mkdir(options->data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(absl::StrCat("--data-dir ", options->data_dir, ": ", std::strerror(errno)));
  }
  // One register per data directory. The lock goes with the process, however it ends.
  const std::string lock_path = options->data_dir + "/kura-pos.lock";
  const int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
    return Fail(
        absl::StrCat(lock_path, ": ", std::strerror(errno),
                     errno == EWOULDBLOCK ? " (another kura-pos is using this --data-dir)" : ""));
  }
  const std::string db_path = options->data_dir + "/kura-pos.db";
  absl::StatusOr<std::unique_ptr<Journal>> journal = Journal::Open(db_path);
  if (!journal.ok()) return Fail(Describe(journal.status()));
  absl::StatusOr<std::unique_ptr<Catalog>> catalog = Catalog::Open(db_path);
  if (!catalog.ok()) return Fail(Describe(catalog.status()));

  // A register the gateway refused stays locked across a restart until the gateway answers.
  absl::StatusOr<std::optional<absl::Status>> refusal = (*journal)->Refusal();
  if (!refusal.ok()) return Fail(Describe(refusal.status()));

  Console console;
  auto locked = [](const absl::Status& why) {
    return absl::StrCat("LOCKED terminal not authorised by the gateway (", Describe(why),
                        "): no sales or returns until it takes this terminal again; the journal "
                        "is kept");
  };
  if (*refusal) console.Line(locked(**refusal));
  std::unique_ptr<Gateway> gateway = ConnectGateway(
      options->gateway, options->token, options->call_timeout,
      [&console](bool online, const absl::Status& status) {
        console.Line(online ? std::string("ONLINE the gateway answers again")
                            : absl::StrCat("OFFLINE the gateway is unreachable (", Describe(status),
                                           "): selling from the offline "
                                           "catalog, journaling for replay"));
      },
      refusal->value_or(absl::OkStatus()),
      [&console, &locked, &journal](const absl::Status& why) {
        console.Line(why.ok() ? std::string("UNLOCKED the gateway takes this terminal again")
                              : locked(why));
        if (absl::Status s = (*journal)->SetRefusal(why); !s.ok()) {
          console.Line(absl::StrCat("JOURNAL terminal lock not recorded: ", Describe(s)));
        }
      });
  Replayer replayer(**journal, **catalog, *gateway, console);
  Register pos_register({.terminal = options->terminal,
                         .columns = options->columns,
                         .printer = options->printer,
                         .print_timeout = options->call_timeout},
                        **journal, **catalog, *gateway, replayer, console,
                        kura::RealClock::Instance());
  // Sales booked by a run killed before their receipt printed: say so before anything else.
  pos_register.PrintUnprinted();

  InputQueue input;
  auto report = [&console](std::string line) { console.Line(line); };
  // Replays what a previous run left pending, then keeps the journal and the catalog in sync.
  BackgroundSync background(replayer, **journal, **catalog, *gateway, console,
                            options->sync_interval, kCatalogInterval);
  std::optional<LineReader> scanner;
  if (!options->scanner.empty()) {
    scanner.emplace(LineSource{.path = options->scanner,
                               .suffix = options->suffix,
                               .serial = options->serial,
                               .kind = InputLine::Source::kScanner},
                    input, report);
  }
  LineReader keyboard(LineSource{.path = "",
                                 .suffix = ScanSuffix::kLf,
                                 .serial = {},
                                 .kind = InputLine::Source::kKeyboard},
                      input, report);
  absl::StatusOr<JournalCounts> counts = (*journal)->Counts();
  console.Line(absl::StrCat("READY terminal ", options->terminal, "; gateway ", options->gateway,
                            "; ", counts.ok() ? counts->pending : 0, " pending in the journal"));
  while (pos_register.Handle(input.Pop())) {
  }
  // The readers stop at once; the background thread after the call in flight, if any.
  return 0;
}
