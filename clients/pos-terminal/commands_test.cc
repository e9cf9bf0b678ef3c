#include "commands.h"

#include <catch2/catch.hpp>

#include <fstream>

#include "options.h"
#include "test_support.h"

namespace kura::pos_terminal {
namespace {

Command Parse(absl::string_view line) {
  absl::StatusOr<Command> c = ParseCommand(line);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

std::string Error(absl::string_view line) {
  absl::StatusOr<Command> c = ParseCommand(line);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST_CASE("a line starting with a digit is a scan, kept as typed") {
  Command c = Parse("  4901234567894\r");
  CHECK(c.kind == CommandKind::kScan);
  CHECK(c.text == "4901234567894");
  CHECK(Parse("9784101010014 1920193006007").text == "9784101010014 1920193006007");
  // Validation is ParseScan's job: a bad code still goes there, to be refused with a reason.
  CHECK(Parse("49012X").kind == CommandKind::kScan);
}

TEST_CASE("cart commands") {
  CHECK(Parse("qty 3").quantity == 3);
  CHECK(Parse("QTY 3").kind == CommandKind::kQuantity);
  CHECK(Error("qty 0").find("usage: qty N") == 0);
  CHECK_FALSE(ParseCommand("qty -1").ok());
  CHECK_FALSE(ParseCommand("qty 2 3").ok());

  CHECK(Parse("void").line == 0);
  CHECK(Parse("void 2").line == 2);
  CHECK_FALSE(ParseCommand("void x").ok());

  Command percent = Parse("discount 2 10%");
  CHECK(percent.line == 2);
  CHECK(percent.discount.kind == pos::LineDiscount::Kind::kPercent);
  CHECK(percent.discount.value == 10);
  Command yen = Parse("discount 1 50");
  CHECK(yen.discount.kind == pos::LineDiscount::Kind::kAmount);
  CHECK(yen.discount.value == 50);
  CHECK_FALSE(ParseCommand("discount 1 101%").ok());
  CHECK_FALSE(ParseCommand("discount 1").ok());

  CHECK(Parse("subtotal").kind == CommandKind::kSubtotal);
  CHECK(Parse("cancel").kind == CommandKind::kCancel);
  CHECK_FALSE(ParseCommand("cancel now").ok());
}

TEST_CASE("pay takes a method and an optional amount") {
  Command cash = Parse("pay cash 1000");
  CHECK(cash.kind == CommandKind::kPay);
  CHECK(cash.tender == pos::TenderKind::kCash);
  CHECK(cash.amount == 1000);
  Command card = Parse("pay card");
  CHECK(card.tender == pos::TenderKind::kCard);
  CHECK_FALSE(card.amount.has_value());
  CHECK(Parse("pay emoney 300").tender == pos::TenderKind::kEMoney);
  CHECK(Parse("pay qr").tender == pos::TenderKind::kQr);
  CHECK_FALSE(ParseCommand("pay cheque").ok());
  CHECK_FALSE(ParseCommand("pay cash 0").ok());
  CHECK_FALSE(ParseCommand("pay cash 1.5").ok());
}

TEST_CASE("return with and without a receipt") {
  Command r = Parse("return shibuya-01-12 SKU-1=2 SKU-2=1:damaged SKU-3=1:sellable");
  CHECK(r.kind == CommandKind::kReturn);
  CHECK(r.original_transaction_id == "shibuya-01-12");
  REQUIRE(r.return_items.size() == 3);
  CHECK(r.return_items[0].sku == "SKU-1");
  CHECK(r.return_items[0].quantity == 2);
  CHECK(r.return_items[0].disposition == v1::DISPOSITION_QUALITY_CONTROL);
  CHECK(r.return_items[1].disposition == v1::DISPOSITION_DAMAGED);
  CHECK(r.return_items[2].disposition == v1::DISPOSITION_SELLABLE);
  CHECK_FALSE(r.return_items[0].unit_price_yen.has_value());

  Command n = Parse("return - SKU-1=1@980 SKU-2=2@150:sellable");
  CHECK(n.original_transaction_id.empty());
  REQUIRE(n.return_items.size() == 2);
  CHECK(n.return_items[0].unit_price_yen == 980);
  CHECK(n.return_items[1].unit_price_yen == 150);
  CHECK(n.return_items[1].quantity == 2);
  CHECK(n.return_items[1].disposition == v1::DISPOSITION_SELLABLE);

  CHECK_FALSE(ParseCommand("return - SKU-1=1").ok());         // no price without a receipt
  CHECK_FALSE(ParseCommand("return T-1 SKU-1=1@100").ok());   // the sale's price is refunded
  CHECK_FALSE(ParseCommand("return T-1 SKU-1=1:lost").ok());  // unknown disposition
  CHECK_FALSE(ParseCommand("return T-1 SKU-1=0").ok());
  CHECK_FALSE(ParseCommand("return T-1").ok());
  CHECK_FALSE(ParseCommand("return T-1 SKU 1").ok());
}

TEST_CASE("gateway and housekeeping commands") {
  Command stock = Parse("stock 4901234567894");
  CHECK(stock.kind == CommandKind::kStock);
  CHECK(stock.text == "4901234567894");
  CHECK(Parse("pickups").kind == CommandKind::kPickups);
  Command pickup = Parse("pickup shopify 1001");
  CHECK(pickup.kind == CommandKind::kPickup);
  CHECK(pickup.text == "shopify");
  CHECK(pickup.order_id == "1001");
  CHECK_FALSE(ParseCommand("pickup shopify").ok());
  CHECK(Parse("sync").kind == CommandKind::kSync);
  CHECK(Parse("catalog").kind == CommandKind::kCatalog);
  CHECK(Parse("status").kind == CommandKind::kStatus);
  CHECK(Parse("reprint").text.empty());
  CHECK(Parse("reprint T-3").text == "T-3");
  CHECK(Parse("help").kind == CommandKind::kHelp);
  CHECK(Parse("quit").kind == CommandKind::kQuit);
  CHECK(Error("dance").find("unknown command 'dance'") == 0);
  CHECK_FALSE(ParseCommand("   ").ok());
}

TEST_CASE("flags") {
  absl::StatusOr<Options> o = ParseOptions(
      {"--gateway=127.0.0.1:7104", "--terminal=shibuya-01", "--data-dir=/tmp/x",
       "--scanner=/dev/ttyACM0", "--baud=115200", "--parity=even", "--suffix=crlf",
       "--printer=tcp:192.0.2.1", "--columns=42", "--sync-interval=500ms", "--call-timeout=1s"},
      "secret");
  INFO(o.status().ToString());
  REQUIRE(o.ok());
  CHECK(o->token == "secret");
  CHECK(o->serial.baud == 115200);
  CHECK(o->serial.parity == Parity::kEven);
  CHECK(o->suffix == ScanSuffix::kCrLf);
  CHECK(o->printer.kind == PrinterTarget::Kind::kTcp);
  CHECK(o->printer.host == "192.0.2.1");
  CHECK(o->printer.port == 9100);
  CHECK(o->columns == 42);
  CHECK(o->sync_interval == absl::Milliseconds(500));
  CHECK(o->call_timeout == absl::Seconds(1));

  const std::vector<std::string> base = {"--gateway=g:1", "--terminal=t", "--data-dir=d"};
  auto with = [&](std::string flag) {
    std::vector<std::string> args = base;
    args.push_back(std::move(flag));
    return ParseOptions(args, "tok");
  };
  CHECK(with("--token=mine")->token == "mine");
  CHECK(ParseOptions(base, nullptr).status().message().find("--token") == 0);
  CHECK_FALSE(with("--baud=9601").ok());
  CHECK_FALSE(with("--parity=mark").ok());
  CHECK_FALSE(with("--suffix=tab").ok());
  CHECK_FALSE(with("--columns=47").ok());
  CHECK_FALSE(with("--printer=lpt1").ok());
  CHECK_FALSE(with("--sync-interval=0s").ok());
  CHECK_FALSE(with("--colour=red").ok());
  CHECK_FALSE(with("--scanner").ok());
  CHECK_FALSE(ParseOptions({"--gateway=g:1", "--data-dir=d"}, "tok").ok());
  CHECK_FALSE(ParseOptions({"--gateway=g:1", "--terminal=a b", "--data-dir=d"}, "tok").ok());
  CHECK(ParseOptions({"--help"}, nullptr)->help);
}

TEST_CASE("--token-file reads the token, trailing whitespace trimmed") {
  testing::TempDir dir;
  const std::string path = dir.File("token");
  std::ofstream(path) << "  s3cret token\r\n\n";
  const std::vector<std::string> base = {"--gateway=g:1", "--terminal=t", "--data-dir=d"};
  auto with = [&](std::vector<std::string> flags, const char* env) {
    std::vector<std::string> args = base;
    args.insert(args.end(), flags.begin(), flags.end());
    return ParseOptions(args, env);
  };
  absl::StatusOr<Options> o = with({"--token-file=" + path}, "from-env");
  INFO(o.status().ToString());
  REQUIRE(o.ok());
  CHECK(o->token == "  s3cret token");  // the file wins over $KURA_POS_TOKEN
  // Given twice is a mistake, not a choice.
  CHECK(with({"--token-file=" + path, "--token=x"}, nullptr)
            .status()
            .message()
            .find("--token-file") == 0);
  absl::StatusOr<Options> missing = with({"--token-file=" + dir.File("none")}, "from-env");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("--token-file: ") == 0);
  CHECK(missing.status().message().find("No such file") != std::string::npos);
  std::ofstream(dir.File("blank")) << " \n";
  CHECK(
      with({"--token-file=" + dir.File("blank")}, "from-env").status().message().find("is empty") !=
      std::string::npos);
}

}  // namespace
}  // namespace kura::pos_terminal
