// kura-reservation: wiring only. See README.md beside this file.
#include "kura/server/service_main.h"
#include "reservation_module.h"

namespace kura::migrations {
const std::vector<kura::pg::MigrationFile>& ReservationMigrations();
}

int main(int argc, char** argv) {
  return kura::server::RunServiceMain(argc, argv,
                                      {.name = "kura-reservation",
                                       .schema = "reservation",
                                       .error_domain = "kura.reservation",
                                       .migrations = &kura::migrations::ReservationMigrations,
                                       .grpc_port = 7102,
                                       .metrics_port = 9102,
                                       .extra_defaults = kura::reservation::ReservationDefaults(),
                                       .create_module = kura::reservation::MakeReservationModule});
}
