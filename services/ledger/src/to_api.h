#pragma once

// Rows as the API shows them.

#include <string>

#include "kura/ledger/v1/ledger.pb.h"
#include "storage/rows.h"

namespace kura::ledger {

v1::Hold ToApi(const HoldRow& hold);

/// `codes` names the movement's item, locations and channel (empty: none).
struct MovementCodes {
  std::string sku, from_location, to_location, channel;
};
v1::Movement ToApi(const MovementRow& movement, const MovementCodes& codes);

/// absl::Time at the microsecond precision PostgreSQL stores.
absl::Time ToMicros(absl::Time t);

}  // namespace kura::ledger
