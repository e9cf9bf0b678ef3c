// kura-pos-gateway: wiring only. See README.md beside this file.
#include "kura/server/service_main.h"
#include "pos_module.h"

namespace kura::migrations {
const std::vector<kura::pg::MigrationFile>& PosMigrations();
}

int main(int argc, char** argv) {
  return kura::server::RunServiceMain(argc, argv,
                                      {.name = "kura-pos-gateway",
                                       .schema = "pos",
                                       .error_domain = "kura.pos",
                                       .migrations = &kura::migrations::PosMigrations,
                                       .grpc_port = 7104,
                                       .metrics_port = 9104,
                                       .extra_defaults = kura::pos::PosDefaults(),
                                       .create_module = kura::pos::MakePosModule});
}
