#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kura/server/service_main.h"

namespace kura::ledger {

/// Builds kura-ledger's module: CatalogService, LedgerService and ChangeFeedService over the
/// service's database, the hold-expiry sweeper and the change notifier.
absl::StatusOr<std::unique_ptr<server::ServiceModule>> MakeLedgerModule(
    server::ServiceContext& context);

/// The ledger's own settings and their defaults.
std::map<std::string, std::string> LedgerDefaults();

}  // namespace kura::ledger
