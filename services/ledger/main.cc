// kura-ledger: wiring only. See README.md beside this file.
#include "kura/server/service_main.h"
#include "ledger_module.h"

namespace kura::migrations {
const std::vector<kura::pg::MigrationFile>& LedgerMigrations();
}

int main(int argc, char** argv) {
  return kura::server::RunServiceMain(argc, argv,
                                      {.name = "kura-ledger",
                                       .schema = "ledger",
                                       .error_domain = "kura.ledger",
                                       .migrations = &kura::migrations::LedgerMigrations,
                                       .grpc_port = 7101,
                                       .metrics_port = 9101,
                                       .extra_defaults = kura::ledger::LedgerDefaults(),
                                       .create_module = kura::ledger::MakeLedgerModule});
}
