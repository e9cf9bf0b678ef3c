// kura-pos (the register client) as a real process against a real kura-pos-gateway, with
// kura-reservation and kura-ledger on a real PostgreSQL: a scanner on a pseudo-terminal, a
// receipt printer listening on TCP, the cashier's commands through a FIFO, and an outage with
// the register killed mid-sale.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <regex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "kura/pos/escpos_decode.h"
#include "pos_fixture.h"

namespace kura::pos::testing {
namespace {

bool Eventually(const std::function<bool()>& condition,
                absl::Duration timeout = absl::Seconds(20)) {
  return kura::testing::WaitFor(condition, timeout);
}

// A raw (port 9100 style) printer: every connection is one job, read until the client closes.
class TcpPrinter {
 public:
  TcpPrinter() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this] {
      while (true) {
        int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;  // closed
        std::string job;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(client, buffer, sizeof buffer)) > 0) job.append(buffer, n);
        ::close(client);
        std::lock_guard lock(mu_);
        jobs_.push_back(job);
      }
    });
  }
  ~TcpPrinter() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> jobs() {
    std::lock_guard lock(mu_);
    return jobs_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> jobs_;
};

// A kura-pos process: commands go in through a FIFO, answers come out in its log.
class Register {
 public:
  Register(PosFixture& f, const std::string& token, const std::string& data_dir,
           std::vector<std::string> flags)
      : fifo_(absl::StrCat(f.dir, "/register-", ++runs_, ".in")) {
    REQUIRE(::mkfifo(fifo_.c_str(), 0600) == 0);
    std::vector<std::string> argv = {KURA_POS,
                                     "--gateway=127.0.0.1:" + std::to_string(f.gateway_port),
                                     "--token=" + token,
                                     "--terminal=a-01",
                                     "--data-dir=" + data_dir,
                                     "--sync-interval=200ms",
                                     "--call-timeout=1s"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    // Opened read-write first, so the register's open of its stdin does not wait for a writer
    // (posix_spawn returns only once the child has started the program).
    in_ = ::open(fifo_.c_str(), O_RDWR | O_CLOEXEC);  // never inherited: EOF must be ours
    REQUIRE(in_ >= 0);
    process_ = std::make_unique<kura::testing::Subprocess>(
        argv, std::map<std::string, std::string>{},
        absl::StrCat(f.dir, "/register-", runs_, ".log"), fifo_);
    REQUIRE(WaitFor("READY"));
  }
  ~Register() {
    if (in_ >= 0) ::close(in_);
  }

  std::string Output() const { return process_->Output(); }
  int Count(const std::string& text) const {
    const std::string out = Output();
    int n = 0;
    for (size_t at = out.find(text); at != std::string::npos; at = out.find(text, at + 1)) ++n;
    return n;
  }
  bool WaitFor(const std::string& text, int times = 1) {
    return Eventually([&] { return Count(text) >= times; });
  }
  // Sends a command and waits for its answer (the next OK/ERR line): that line.
  std::string Do(const std::string& line) {
    const int answers = Count("\nOK") + Count("\nERR");
    Send(line);
    REQUIRE(Eventually([&] { return Count("\nOK") + Count("\nERR") > answers; }));
    std::string last;
    for (absl::string_view l : absl::StrSplit(Output(), '\n')) {
      if (absl::StartsWith(l, "OK") || absl::StartsWith(l, "ERR")) last = std::string(l);
    }
    return last;
  }
  void Send(const std::string& line) {
    const std::string text = line + "\n";
    REQUIRE(::write(in_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void Kill() {
    process_->Signal(SIGKILL);
    process_->Wait(absl::Seconds(5));
  }
  void Quit() {
    ::close(in_);  // end of input
    in_ = -1;
    REQUIRE(process_->Wait(absl::Seconds(10)).has_value());
  }

 private:
  static inline int runs_ = 0;
  std::string fifo_;
  int in_ = -1;
  std::unique_ptr<kura::testing::Subprocess> process_;
};

void SeedShop(PosFixture& f) {
  f.Item("PEN", 105, lv1::TAX_CLASS_STANDARD, {"4901330578862"});
  f.Item("ONIGIRI", 108, lv1::TAX_CLASS_REDUCED, {"49123456"});
  f.l.Receive("PEN", "store-a", 10);
  f.l.Receive("ONIGIRI", "store-a", 10);
}

// The transaction id of an "OK sale <id> ..." answer.
std::string SaleId(const std::string& answer) {
  std::smatch m;
  static const std::regex kSale("^OK sale (\\S+) ");
  REQUIRE(std::regex_search(answer, m, kSale));
  return m[1];
}

TEST_CASE("Scans from a pseudo-terminal sell, print on a TCP printer, and the store day goes on") {
  PosFixture f("pos_register");
  SeedShop(f);
  TcpPrinter printer;
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(master >= 0);
  REQUIRE(::fcntl(master, F_SETFD, FD_CLOEXEC) == 0);
  REQUIRE(::grantpt(master) == 0);
  REQUIRE(::unlockpt(master) == 0);
  const std::string slave = ::ptsname(master);
  Register pos(f, f.token_a, f.dir + "/register-a",
               {"--scanner=" + slave, "--suffix=cr", "--columns=42",
                "--printer=tcp:127.0.0.1:" + std::to_string(printer.port())});
  auto scan = [&](const std::string& code) {
    const std::string bytes = code + "\r";  // the scanner's CR suffix
    REQUIRE(::write(master, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  };
  for (int i = 1; i <= 3; ++i) {
    scan("4901330578862");
    REQUIRE(pos.WaitFor("OK line", i));
  }
  scan("4901330578863");  // a bad check digit: refused, nothing added
  REQUIRE(pos.WaitFor("ERR bad scan"));
  scan("49123456");
  REQUIRE(pos.WaitFor("OK line", 4));
  const std::string sold = pos.Do("pay cash 1000");
  INFO(pos.Output());
  REQUIRE(sold.find("OK sale") == 0);
  REQUIRE(sold.find("total ¥423") != std::string::npos);
  REQUIRE(sold.find("change ¥577") != std::string::npos);
  const std::string sale_id = SaleId(sold);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 7);
  REQUIRE(f.l.Availability("ONIGIRI", "store-a").sellable() == 9);

  // The printer got one job: ESC/POS in Shift_JIS with the reduced line marked, the tax taken
  // once per rate (3 × ¥105 at 10 % contains ¥28), the invoice number and a partial cut.
  REQUIRE(Eventually([&] { return printer.jobs().size() == 1; }));
  const std::string job = printer.jobs()[0];
  auto decoded = DecodeEscPos(job);
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  REQUIRE(!decoded->Find(EscPosOp::kKanjiOn).empty());
  REQUIRE(decoded->commands.back().op == EscPosOp::kCutPartial);
  bool reduced_marked = false, standard_tax = false, reduced_tax = false, invoice = false;
  for (const std::string& line : decoded->Texts()) {
    if (line.find("ONIGIRI") != std::string::npos) reduced_marked |= line.find("※") != line.npos;
    if (line.find("10%") != line.npos && line.find("内消費税") != line.npos) {
      standard_tax = line.find("¥315") != line.npos && line.find("¥28") != line.npos;
    }
    if (line.find("8%") != line.npos && line.find("内消費税") != line.npos) {
      reduced_tax = line.find("¥108") != line.npos && line.find("¥8") != line.npos;
    }
    invoice |= line.find("T1234567890123") != line.npos;
  }
  REQUIRE(reduced_marked);
  REQUIRE(standard_tax);
  REQUIRE(reduced_tax);
  REQUIRE(invoice);
  // A reprint sends the same bytes again, whole.
  REQUIRE(pos.Do("reprint").find("OK") == 0);
  REQUIRE(Eventually([&] { return printer.jobs().size() == 2; }));
  REQUIRE(printer.jobs()[1] == job);

  // Stock, a return to the shelf, and a pickup handed over.
  const std::string stock = pos.Do("stock 4901330578862");
  REQUIRE(stock.find("OK") == 0);
  REQUIRE(stock.find("here 7") != std::string::npos);
  REQUIRE(pos.Do("return " + sale_id + " PEN=1:sellable").find("OK") == 0);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);
  REQUIRE(pos.Do("return " + sale_id + " PEN=3").find("ERR") == 0);  // more than left to return
  REQUIRE(f.Place("ec", "P-1", {{"ONIGIRI", 2}}, "store-a").ok());
  REQUIRE(f.Confirm("ec", "P-1").ok());
  REQUIRE(pos.Do("pickups").find("OK") == 0);
  REQUIRE(pos.Output().find("P-1") != std::string::npos);
  REQUIRE(pos.Do("pickup ec P-1").find("OK") == 0);
  REQUIRE(f.Get("ec", "P-1")->state() == reservation::testing::rv1::ORDER_STATE_FULFILLED);

  // Revoked: the register sells nothing, not even from its offline catalog.
  pv1::RevokeTerminalRequest revoke;
  revoke.set_terminal_id("a-01");
  REQUIRE(Call(*f.admin, &Admin::RevokeTerminal, revoke).ok());
  REQUIRE(pos.Do("4901330578862").find("ERR") == 0);
  REQUIRE(pos.Do("pay cash 105").find("ERR") == 0);
  REQUIRE(pos.Do("status").find("locked") != std::string::npos);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 8);
  pos.Quit();
  ::close(master);
  f.l.RequireConsistent();
}

TEST_CASE("An outage: sales journaled offline, the register killed mid-sale, all booked once") {
  PosFixture f("pos_offline");
  SeedShop(f);
  const std::string data = f.dir + "/register-a";
  auto pos = std::make_unique<Register>(
      f, f.token_a, data, std::vector<std::string>{"--printer=file:" + f.dir + "/receipts.bin"});
  REQUIRE(pos->WaitFor("CATALOG"));  // the catalog is kept for selling offline
  REQUIRE(pos->Do("4901330578862").find("OK line") == 0);
  REQUIRE(pos->Do("pay cash 105").find("OK sale") == 0);  // online
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 9);

  f.StopGateway();
  const absl::Time outage = absl::Now();
  std::vector<std::string> offline;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(pos->Do(i % 2 ? "49123456" : "4901330578862").find("OK line") == 0);
    const std::string sold = pos->Do("pay cash 200");
    INFO(pos->Output());
    REQUIRE(sold.find("OK sale") == 0);
    REQUIRE(sold.find("journaled") != std::string::npos);  // offline: kept for replay
    offline.push_back(SaleId(sold));
  }
  // One more, killed while it completes: it may or may not have reached the journal.
  REQUIRE(pos->Do("4901330578862").find("OK line") == 0);
  pos->Send("pay cash 105");
  absl::SleepFor(absl::Milliseconds(5));  // not a wait: the kill lands somewhere in the sale
  pos->Kill();
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 9);  // nothing reached the ledger

  // Receipts shown before the kill (each names its transaction, "No.<id>"): the killed sale's
  // shows before it is marked printed and before its OK line.
  const int shown = pos->Count("No.a-01-");

  // Both back: the journal drains in order, each sale once, at the time it happened. The
  // register is killed once more while it replays.
  absl::SleepFor(absl::Milliseconds(1100));  // a second apart: replay time ≠ sale time
  const absl::Time restart = absl::Now();
  f.StartGateway();
  pos = std::make_unique<Register>(f, f.token_a, data, std::vector<std::string>{});
  const std::string first_restart = pos->Output();
  pos->Kill();  // as soon as it is up: while it replays its journal
  pos = std::make_unique<Register>(f, f.token_a, data, std::vector<std::string>{});
  REQUIRE(Eventually([&] { return pos->Do("status").find("0 pending") != std::string::npos; }));

  std::map<std::string, int> booked;  // transaction id → store sale movements
  std::map<std::string, int64_t> when;
  for (const auto& e : f.l.AllEvents()) {
    if (!e.has_movement_applied()) continue;
    const auto& m = e.movement_applied().movement();
    if (m.kind() != lv1::MOVEMENT_KIND_STORE_SALE) continue;
    const std::string id = m.source_ref().substr(m.source_ref().rfind(' ') + 1);
    ++booked[id];
    when[id] = m.occurred_at().seconds();
  }
  INFO(pos->Output());
  // One online sale, four offline, and the killed one if it reached the journal: once each.
  REQUIRE((booked.size() == 5 || booked.size() == 6));
  for (const auto& [id, count] : booked) {
    INFO(id);
    REQUIRE(count == 1);
  }
  for (const std::string& id : offline) {
    INFO(id);
    REQUIRE(booked.count(id) == 1);
    // The time of the sale at the register, during the outage, not of its replay.
    REQUIRE(when[id] >= absl::ToUnixSeconds(outage) - 1);
    REQUIRE(when[id] < absl::ToUnixSeconds(restart));
  }
  if (booked.size() == 6 && shown == 5) {
    // Journaled but killed before its receipt printed: announced and printed at the next start.
    REQUIRE(first_restart.find("UNPRINTED") != std::string::npos);
  }
  const int64_t pens = 1 + 2 + (booked.size() == 6 ? 1 : 0);
  REQUIRE(f.l.Availability("PEN", "store-a").sellable() == 10 - pens);
  REQUIRE(f.l.Availability("ONIGIRI", "store-a").sellable() == 8);
  // The EC channels offer what the store has left.
  lv1::GetAvailabilityRequest ec;
  ec.add_skus("PEN");
  ec.add_locations("store-a");
  ec.add_channels("ec");
  auto offered = Call(*f.l.ledger, &lv1::LedgerService::Stub::GetAvailability, ec);
  REQUIRE(offered.ok());
  REQUIRE(offered->rows(0).available_to_promise() == 10 - pens);
  f.l.RequireConsistent();
}

}  // namespace
}  // namespace kura::pos::testing
