#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "kura/pos/receipt.h"

// The receipt's lines, laid out once for both renderers (private to kura_pos).
namespace kura::pos::layout {

enum class Align { kLeft, kCenter };

/// One printed line: its text (no newline) and how the printer shows it.
struct Row {
  std::string text;
  Align align = Align::kLeft;
  bool emphasized = false;
  /// Double width and height; the row was laid out in half the columns.
  bool double_size = false;
};

/// Lays `receipt` out in `columns` columns. With `double_size`, the store name, the return mark
/// and the total are double-size rows laid out in columns / 2; without, they are normal rows.
std::vector<Row> LayOutReceipt(const Receipt& receipt, int columns, bool double_size);

}  // namespace kura::pos::layout
