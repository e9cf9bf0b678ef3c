#include "kura/pos/barcode.h"

#include <catch2/catch.hpp>

#include "kura/base/error.h"

namespace kura::pos {
namespace {

ScannedCode Scan(absl::string_view text, const InStoreLayout& layout = DefaultInStoreLayout()) {
  absl::StatusOr<ScannedCode> code = ParseScan(text, layout);
  INFO(text << ": " << code.status().ToString());
  REQUIRE(code.ok());
  return *code;
}

// The reason and message of a refused scan.
absl::Status Refused(absl::string_view text) {
  absl::StatusOr<ScannedCode> code = ParseScan(text, DefaultInStoreLayout());
  INFO(text);
  REQUIRE_FALSE(code.ok());
  REQUIRE(code.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(ErrorReason(code.status()) == "INVALID_BARCODE");
  return code.status();
}

bool MessageHas(const absl::Status& status, absl::string_view part) {
  return absl::string_view(status.message()).find(part) != absl::string_view::npos;
}

TEST_CASE("Reference test vectors are classified") {
  ScannedCode jan = Scan("4901330578862");
  CHECK(jan.kind == CodeKind::kJan13);
  CHECK(jan.lookup_code == "4901330578862");
  CHECK_FALSE(jan.price_yen.has_value());

  ScannedCode isbn = Scan("9784864561211");
  CHECK(isbn.kind == CodeKind::kIsbn);
  CHECK(isbn.lookup_code == "9784864561211");

  ScannedCode lower = Scan("1920072016008");
  CHECK(lower.kind == CodeKind::kBookPriceCode);
  CHECK(lower.book_c_code == "0072");
  CHECK(lower.book_price_yen == 1600);
  CHECK(lower.lookup_code.empty());

  ScannedCode in_store = Scan("2112002515005");
  CHECK(in_store.kind == CodeKind::kInStorePrice);
  CHECK(in_store.price_yen == 1500);
  CHECK(in_store.lookup_code == "2112002500001");  // Price digits zeroed, check digit redone.

  ScannedCode upc = Scan("036000291452");
  CHECK(upc.kind == CodeKind::kUpcA);
  CHECK(upc.code == "036000291452");
  CHECK(upc.lookup_code == "0036000291452");

  ScannedCode ean8 = Scan("49123456");
  CHECK(ean8.kind == CodeKind::kEan8);
  CHECK(ean8.lookup_code == "49123456");
}

TEST_CASE("A scanner's CR/LF suffix is ignored") {
  CHECK(Scan("4901330578862\r\n").lookup_code == "4901330578862");
  CHECK(Scan("\t49123456\n").kind == CodeKind::kEan8);
}

TEST_CASE("Both book stages give the ISBN and the list price, in either order") {
  for (const char* text : {"9784864561211 1920072016008", "1920072016008\t9784864561211",
                           "97848645612111920072016008", "19200720160089784864561211"}) {
    ScannedCode book = Scan(text);
    INFO(text);
    CHECK(book.kind == CodeKind::kBook);
    CHECK(book.code == "9784864561211");
    CHECK(book.lookup_code == "9784864561211");
    CHECK(book.book_price_yen == 1600);
    CHECK(book.book_c_code == "0072");
  }
  absl::StatusOr<ScannedCode> paired = PairBookCodes(Scan("1920072016008"), Scan("9784864561211"));
  REQUIRE(paired.ok());
  CHECK(paired->kind == CodeKind::kBook);
  CHECK(paired->lookup_code == "9784864561211");
  CHECK(paired->book_price_yen == 1600);

  absl::StatusOr<ScannedCode> wrong = PairBookCodes(Scan("4901330578862"), Scan("9784864561211"));
  CHECK(ErrorReason(wrong.status()) == "INVALID_BARCODE");
}

TEST_CASE("A book of ¥100,000 or more carries no price") {
  ScannedCode lower = Scan("1920072000007");
  CHECK(lower.kind == CodeKind::kBookPriceCode);
  CHECK_FALSE(lower.book_price_yen.has_value());
}

TEST_CASE("In-store codes follow the store's layout") {
  absl::StatusOr<InStoreLayout> layout =
      ParseInStoreLayout("02:plu, 20-24:price:4, 25-29:weight:5:3");
  REQUIRE(layout.ok());
  REQUIRE(layout->rules.size() == 3);
  CHECK(layout->rules[2].item_digits() == 5);

  // 25 / item 12345 / 01234 = 1.234 kg.
  ScannedCode weighed = Scan("2512345012344", *layout);
  CHECK(weighed.kind == CodeKind::kInStoreWeight);
  CHECK(weighed.weight_grams == 1234);
  CHECK_FALSE(weighed.price_yen.has_value());
  CHECK(weighed.lookup_code == "2512345000006");

  CHECK(Scan("2112002515005", *layout).price_yen == 1500);

  ScannedCode plu = Scan("0212345678909", *layout);
  CHECK(plu.kind == CodeKind::kInStorePlu);
  CHECK(plu.lookup_code == "0212345678909");

  // The default layout reads a price in every 02 and 20–29 code.
  CHECK(Scan("0212345678909").price_yen == 7890);
  // A layout without rules leaves 02 and 20–29 as PLU codes; other prefixes can be added.
  CHECK(Scan("2112002515005", InStoreLayout{}).kind == CodeKind::kInStorePlu);
  absl::StatusOr<InStoreLayout> extra = ParseInStoreLayout("04:plu");
  REQUIRE(extra.ok());
  CHECK(Scan("0412345678903").kind == CodeKind::kJan13);
  CHECK(Scan("0412345678903", *extra).kind == CodeKind::kInStorePlu);
}

TEST_CASE("8-digit in-store codes are PLU codes") {
  ScannedCode code = Scan("26123455");
  CHECK(code.kind == CodeKind::kInStorePlu);
  CHECK(code.lookup_code == "26123455");
}

TEST_CASE("A UPC-A code with number system 2 is an in-store code") {
  ScannedCode code = Scan("201234015000");
  CHECK(code.kind == CodeKind::kInStorePrice);
  CHECK(code.code == "201234015000");
  CHECK(code.price_yen == 1500);
  CHECK(code.lookup_code == "0201234000006");
}

TEST_CASE("Wrong check digits, lengths and characters are refused with the reason") {
  CHECK(MessageHas(Refused("4901330578863"), "wrong check digit (expected 2)"));
  CHECK(MessageHas(Refused("9784864561212"), "wrong check digit"));
  CHECK(MessageHas(Refused("1920072016009"), "wrong check digit"));
  CHECK(MessageHas(Refused("2112002515006"), "wrong check digit"));
  CHECK(MessageHas(Refused("036000291453"), "wrong check digit"));
  CHECK(MessageHas(Refused("49123457"), "wrong check digit"));
  CHECK(MessageHas(Refused("4901330578"), "must have 13 (JAN/EAN-13), 8 (EAN-8) or 12 (UPC-A)"));
  CHECK(MessageHas(Refused(""), "must have 13"));
  CHECK(MessageHas(Refused("49013305788A2"), "digits only"));
  CHECK(MessageHas(Refused("４９０１３３０５７８８６２"), "must have 13"));  // Full-width digits.
  CHECK(MessageHas(Refused("1910072016009"), "obsolete tax-included book code (191)"));
  CHECK(MessageHas(Refused("4901330578862 49123456"), "not an ISBN and a 192 book price code"));
  CHECK(MessageHas(Refused("9784864561211 1920072016009"), "wrong check digit"));
  CHECK(MessageHas(Refused("9784864561211 1920072016008 49123456"), "more than two codes"));
}

TEST_CASE("Bad in-store layout specs are refused naming the rule") {
  CHECK(ParseInStoreLayout("").ok());
  for (const char* spec : {"2-5:price:4", "20-19:price:4", "20-29:price", "20-29:price:9",
                           "20-29:price:1", "20-29:bulk:4", "20-24:price:4,22:plu", "25:weight:5:4",
                           "20:price:4:0", "02:plu:4", "20-29", "2a:plu"}) {
    absl::StatusOr<InStoreLayout> layout = ParseInStoreLayout(spec);
    INFO(spec);
    REQUIRE_FALSE(layout.ok());
    CHECK(ErrorReason(layout.status()) == "INVALID_IN_STORE_LAYOUT");
    CHECK(MessageHas(layout.status(), "in-store layout rule"));
  }
}

TEST_CASE("A hand-built layout is checked before use") {
  InStoreLayout layout;
  layout.rules.push_back(
      {.first_prefix = 20, .last_prefix = 29, .value = EmbeddedValue::kPrice, .value_digits = 12});
  absl::StatusOr<ScannedCode> code = ParseScan("2112002515005", layout);
  CHECK(ErrorReason(code.status()) == "INVALID_IN_STORE_LAYOUT");
  CHECK(MessageHas(code.status(), "rule \"20-29\": the value takes 2 to 8 digits"));
}

}  // namespace
}  // namespace kura::pos
