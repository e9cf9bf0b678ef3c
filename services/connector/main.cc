// kura-connector: wiring only. See README.md beside this file.
#include "connector_module.h"
#include "kura/server/service_main.h"

namespace kura::migrations {
const std::vector<kura::pg::MigrationFile>& ConnectorMigrations();
}

int main(int argc, char** argv) {
  return kura::server::RunServiceMain(argc, argv,
                                      {.name = "kura-connector",
                                       .schema = "connector",
                                       .error_domain = "kura.connector",
                                       .migrations = &kura::migrations::ConnectorMigrations,
                                       .grpc_port = 7103,
                                       .metrics_port = 9103,
                                       .extra_defaults = kura::connector::ConnectorDefaults(),
                                       .create_module = kura::connector::MakeConnectorModule});
}
