#pragma once

#include <string>
#include <vector>

namespace kura::ctl {

/// Runs a reservation command (orders, limited, substitutes, allocation, preorders, pickup) with
/// its arguments; returns the exit code: 0 done, 1 the service refused or failed, 2 bad usage.
/// Returns -1 when `command` is not one of them.
int RunReservationCommand(const std::string& command, const std::vector<std::string>& args);

/// The usage lines of the reservation commands.
const char* ReservationUsage();

}  // namespace kura::ctl
