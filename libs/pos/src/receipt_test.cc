#include "kura/pos/receipt.h"

#include <catch2/catch.hpp>
#include <cstdint>

#include "kura/base/error.h"

namespace kura::pos {
namespace {

ReceiptHeader Header() {
  ReceiptHeader header;
  header.store_name = "○○ストア 渋谷店";
  header.address = "東京都渋谷区道玄坂1-2-3";
  header.phone = "03-1234-5678";
  header.registration_number = "T1234567890123";
  header.terminal_id = "02";
  header.transaction_id = "0123";
  header.issued_at = "2025年04月01日(火) 10:23";
  return header;
}

SaleItem Item(std::string name, int64_t unit_price, TaxClass tax_class, int64_t quantity = 1) {
  SaleItem item;
  item.name = std::move(name);
  item.line.unit_price = unit_price;
  item.line.quantity = quantity;
  item.line.tax_class = tax_class;
  return item;
}

// The reference's receipt, with a quantity and a discount added.
std::vector<SaleItem> Items() {
  SaleItem notebook = Item("ノート", 200, TaxClass::kStandard);
  notebook.line.discount = {LineDiscount::Kind::kPercent, 10};
  return {Item("おにぎり", 150, TaxClass::kReduced), Item("お茶", 70, TaxClass::kReduced, 2),
          Item("ボールペン", 110, TaxClass::kStandard), notebook};
}

Receipt Make(ReceiptHeader header, std::vector<SaleItem> items, std::vector<Tender> tenders) {
  absl::StatusOr<Receipt> receipt = MakeReceipt(std::move(header), items, std::move(tenders));
  INFO(receipt.status().ToString());
  REQUIRE(receipt.ok());
  return *receipt;
}

TEST_CASE("MakeReceipt books the amounts it prints") {
  Receipt receipt = Make(Header(), Items(), {{TenderKind::kCash, 1000}});
  REQUIRE(receipt.lines.size() == 4);
  CHECK(receipt.lines[1].quantity == 2);
  CHECK(receipt.lines[1].amount == 140);
  CHECK(receipt.lines[3].amount == 180);
  CHECK(receipt.total == 580);
  REQUIRE(receipt.rates.size() == 2);
  CHECK(receipt.rates[0].taxable == 290);
  CHECK(receipt.rates[0].tax == 26);  // 290 × 10 / 110 = 26.36
  CHECK(receipt.rates[1].taxable == 290);
  CHECK(receipt.rates[1].tax == 21);  // 290 × 8 / 108 = 21.48
  CHECK(receipt.change == 420);
}

TEST_CASE("A receipt renders as text with ※ marks and the tax per rate") {
  Receipt receipt = Make(Header(), Items(), {{TenderKind::kCash, 1000}});
  CHECK(RenderText(receipt, 32) ==
        "       ○○ストア 渋谷店\n"
        "    東京都渋谷区道玄坂1-2-3\n"
        "        TEL 03-1234-5678\n"
        "    登録番号 T1234567890123\n"
        "2025年04月01日(火) 10:23\n"
        "レジ#02                  No.0123\n"
        "--------------------------------\n"
        "おにぎり ※                 ¥150\n"
        "お茶 ※                     ¥140\n"
        "  ¥70 × 2\n"
        "ボールペン                  ¥110\n"
        "ノート                      ¥180\n"
        "  値引                      -¥20\n"
        "--------------------------------\n"
        "小計                        ¥580\n"
        "(10%対象  ¥290    内消費税  ¥26)\n"
        "(8%対象  ¥290     内消費税  ¥21)\n"
        "合計                        ¥580\n"
        "お預り                    ¥1,000\n"
        "お釣り                      ¥420\n"
        "※は軽減税率対象商品\n");
}

TEST_CASE("Text that does not fit wraps without splitting a character") {
  ReceiptHeader header = Header();
  header.store_name = "とても長い名前のスーパーマーケット 渋谷道玄坂店";
  Receipt receipt =
      Make(header, {Item("国産和牛ロース すき焼き用 特選 500g", 12800, TaxClass::kReduced)},
           {{TenderKind::kCard, 12800}});
  const std::string text = RenderText(receipt, 24);
  CHECK(text.find("とても長い名前のスーパー\nマーケット 渋谷道玄坂店\n") != std::string::npos);
  CHECK(text.find("国産和牛ロース すき焼き\n用 特選 500g ※  ¥12,800\n") != std::string::npos);
  CHECK(text.find("(8%対象  ¥12,800\n         内消費税  ¥948)\n") != std::string::npos);
  CHECK(text.find("クレジット       ¥12,800\n") != std::string::npos);
  CHECK(text.find("お釣り") == std::string::npos);  // No cash, no change line.
}

TEST_CASE("A receipt without reduced-rate items has no ※ footnote; exempt items show apart") {
  Receipt receipt =
      Make(Header(),
           {Item("ボールペン", 110, TaxClass::kStandard), Item("収入印紙", 200, TaxClass::kExempt)},
           {{TenderKind::kQr, 310}});
  const std::string text = RenderText(receipt, 32);
  CHECK(text.find("※") == std::string::npos);
  CHECK(text.find("(10%対象  ¥110    内消費税  ¥10)\n") != std::string::npos);
  CHECK(text.find("(非課税対象                ¥200)\n") != std::string::npos);
  CHECK(text.find("QRコード決済                ¥310\n") != std::string::npos);
}

TEST_CASE("A return is marked 返品 and lists refunds") {
  ReceiptHeader header = Header();
  header.is_return = true;
  Receipt receipt = Make(header, {Item("おにぎり", 150, TaxClass::kReduced)},
                         {{TenderKind::kCash, 100}, {TenderKind::kEMoney, 50}});
  const std::string text = RenderText(receipt, 32);
  CHECK(text.rfind("            【返品】\n", 0) == 0);
  CHECK(text.find("ご返金(現金)                ¥100\n") != std::string::npos);
  CHECK(text.find("ご返金(電子マネー)           ¥50\n") != std::string::npos);
  CHECK(text.find("お釣り") == std::string::npos);
}

TEST_CASE("Card and cash together: only cash gives change") {
  Receipt receipt = Make(Header(), Items(), {{TenderKind::kCard, 500}, {TenderKind::kCash, 100}});
  CHECK(receipt.change == 20);
}

TEST_CASE("MakeReceipt refuses what cannot be a valid receipt") {
  auto refused = [](ReceiptHeader header, std::vector<SaleItem> items,
                    std::vector<Tender> tenders) {
    absl::StatusOr<Receipt> receipt = MakeReceipt(std::move(header), items, std::move(tenders));
    REQUIRE_FALSE(receipt.ok());
    CHECK(receipt.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(receipt.status().message());
  };
  ReceiptHeader bad_number = Header();
  bad_number.registration_number = "1234567890123";
  CHECK(refused(bad_number, Items(), {{TenderKind::kCash, 1000}}) ==
        "registration number \"1234567890123\" must be T followed by 13 digits");
  ReceiptHeader no_name = Header();
  no_name.store_name.clear();
  CHECK(refused(no_name, Items(), {{TenderKind::kCash, 1000}}) == "store_name is required");
  CHECK(refused(Header(), {Item("", 100, TaxClass::kStandard)}, {{TenderKind::kCash, 100}}) ==
        "every item needs a name");
  CHECK(refused(Header(), {Item("x", -1, TaxClass::kStandard)}, {}).find("unit price -1") !=
        std::string::npos);
  CHECK(refused(Header(), Items(), {{TenderKind::kCash, 579}}) ==
        "tenders ¥579 fall short of the total ¥580");
  CHECK(refused(Header(), Items(), {{TenderKind::kCard, 600}}) ==
        "non-cash tenders ¥600 exceed the total ¥580; only cash gives change");
  CHECK(refused(Header(), Items(), {{TenderKind::kCash, 0}, {TenderKind::kCash, 580}})
            .find("tender amount 0") != std::string::npos);
  CHECK(refused(Header(), Items(), {{TenderKind::kCash, kMaxYen}, {TenderKind::kCash, kMaxYen}}) ==
        "the tenders add up to too much");
  ReceiptHeader refund = Header();
  refund.is_return = true;
  CHECK(refused(refund, Items(), {{TenderKind::kCash, 1000}}) ==
        "refunds ¥1,000 differ from the total ¥580");
}

TEST_CASE("Registration numbers are T and 13 digits") {
  CHECK(ValidateRegistrationNumber("T1234567890123").ok());
  for (const char* bad :
       {"", "T", "1234567890123", "T123456789012", "T12345678901234", "t1234567890123",
        "T123456789012A", "T１２３４５６７８９０１２３", " T1234567890123"}) {
    INFO(bad);
    absl::Status status = ValidateRegistrationNumber(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(ErrorReason(status) == "INVALID_REGISTRATION_NUMBER");
  }
}

TEST_CASE("Yen amounts have thousands separators") {
  CHECK(FormatYen(0) == "¥0");
  CHECK(FormatYen(999) == "¥999");
  CHECK(FormatYen(1000) == "¥1,000");
  CHECK(FormatYen(1234567) == "¥1,234,567");
  CHECK(FormatYen(-20) == "-¥20");
  CHECK(FormatYen(INT64_MIN) == "-¥9,223,372,036,854,775,808");
}

TEST_CASE("The time of issue is printed in the store's time zone") {
  absl::TimeZone tokyo;
  REQUIRE(absl::LoadTimeZone("Asia/Tokyo", &tokyo));
  const absl::Time t = absl::FromCivil(absl::CivilMinute(2025, 4, 1, 1, 23), absl::UTCTimeZone());
  CHECK(FormatIssuedAt(t, tokyo) == "2025年04月01日(火) 10:23");
  CHECK(FormatIssuedAt(t + absl::Hours(14), tokyo) == "2025年04月02日(水) 00:23");
  CHECK(FormatIssuedAt(t, absl::UTCTimeZone()) == "2025年04月01日(火) 01:23");
}

}  // namespace
}  // namespace kura::pos
