#include "printer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <thread>

#include "kura/pos/escpos.h"
#include "kura/pos/receipt.h"
#include "test_support.h"

namespace kura::pos_terminal {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ReceiptBytes() {
  pos::ReceiptHeader header;
  header.store_name = "○○ストア 渋谷店";
  header.registration_number = "T1234567890123";
  header.terminal_id = "shibuya-01";
  header.transaction_id = "shibuya-01-7";
  header.issued_at = "2025年04月01日(火) 10:23";
  pos::SaleItem tea{
      "お茶",
      {.unit_price = 150, .quantity = 2, .tax_class = pos::TaxClass::kReduced, .discount = {}}};
  absl::StatusOr<pos::Receipt> receipt =
      pos::MakeReceipt(header, {tea}, {{pos::TenderKind::kCash, 1000}});
  REQUIRE(receipt.ok());
  absl::StatusOr<std::string> bytes = pos::RenderEscPos(*receipt, {.columns = 48});
  REQUIRE(bytes.ok());
  return *bytes;
}

// A raw-print listener on 127.0.0.1 (port 0: any free port): keeps what one client sends.
class PrintListener {
 public:
  PrintListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd_, 1) == 0);
    socklen_t size = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      int client = accept(fd_, nullptr, nullptr);
      char buffer[4096];
      for (ssize_t n; (n = read(client, buffer, sizeof buffer)) > 0;) received_.append(buffer, n);
      close(client);
    });
  }
  ~PrintListener() { close(fd_); }
  int port() const { return port_; }
  // Waits for the client to finish and returns what it sent.
  std::string Received() {
    thread_.join();
    return received_;
  }

 private:
  int fd_;
  int port_ = 0;
  std::thread thread_;
  std::string received_;
};

TEST_CASE("printer targets") {
  CHECK(ParsePrinterTarget("none")->kind == PrinterTarget::Kind::kNone);
  absl::StatusOr<PrinterTarget> file = ParsePrinterTarget("file:/var/spool/r.bin");
  CHECK(file->kind == PrinterTarget::Kind::kFile);
  CHECK(file->path == "/var/spool/r.bin");
  CHECK(ParsePrinterTarget("device:/dev/usb/lp0")->kind == PrinterTarget::Kind::kDevice);
  absl::StatusOr<PrinterTarget> tcp = ParsePrinterTarget("tcp:printer.local");
  CHECK(tcp->host == "printer.local");
  CHECK(tcp->port == 9100);
  CHECK(ParsePrinterTarget("tcp:192.0.2.7:9101")->port == 9101);
  absl::StatusOr<PrinterTarget> v6 = ParsePrinterTarget("tcp:[::1]:9100");
  CHECK(v6->host == "::1");
  CHECK(v6->ToString() == "tcp:[::1]:9100");
  CHECK_FALSE(ParsePrinterTarget("tcp:").ok());
  CHECK_FALSE(ParsePrinterTarget("tcp:host:99999").ok());
  CHECK_FALSE(ParsePrinterTarget("file:").ok());
  CHECK_FALSE(ParsePrinterTarget("lp0").ok());
}

TEST_CASE("a receipt reaches a TCP 9100 printer byte for byte") {
  const std::string bytes = ReceiptBytes();
  PrintListener listener;
  PrinterTarget target{
      .kind = PrinterTarget::Kind::kTcp, .path = "", .host = "127.0.0.1", .port = listener.port()};
  REQUIRE(SendToPrinter(target, bytes, absl::Seconds(5)).ok());
  CHECK(listener.Received() == bytes);
}

TEST_CASE("receipts are appended to a file") {
  testing::TempDir dir;
  const std::string bytes = ReceiptBytes();
  PrinterTarget target{
      .kind = PrinterTarget::Kind::kFile, .path = dir.File("receipts.bin"), .host = "", .port = 0};
  REQUIRE(SendToPrinter(target, bytes, absl::Seconds(5)).ok());
  REQUIRE(SendToPrinter(target, bytes, absl::Seconds(5)).ok());
  CHECK(ReadFile(target.path) == bytes + bytes);
}

TEST_CASE("an unreachable printer is an error, not a hang") {
  int port = 0;
  {
    PrintListener closed;  // Bound, then closed: nothing listens on its port any more.
    port = closed.port();
    int client = socket(AF_INET, SOCK_STREAM, 0);  // let its accept return
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    close(client);
    closed.Received();
  }
  PrinterTarget target{
      .kind = PrinterTarget::Kind::kTcp, .path = "", .host = "127.0.0.1", .port = port};
  absl::Status status = SendToPrinter(target, "x", absl::Seconds(2));
  CHECK(absl::IsUnavailable(status));
  PrinterTarget device{
      .kind = PrinterTarget::Kind::kDevice, .path = "/nonexistent/lp0", .host = "", .port = 0};
  CHECK(absl::IsUnavailable(SendToPrinter(device, "x", absl::Seconds(1))));
}

}  // namespace
}  // namespace kura::pos_terminal
