#pragma once

#include <string>
#include <vector>

namespace kura::ctl {

/// Runs a `connector` command (connections, connect, items, map-item, unmap-item, locations,
/// map-location, dead-letters, retry) with its arguments; returns the exit code: 0 done, 1 the
/// service refused or failed, 2 bad usage. Returns -1 when `command` is not "connector".
int RunConnectorCommand(const std::string& command, const std::vector<std::string>& args);

/// The usage lines of the connector commands.
const char* ConnectorUsage();

}  // namespace kura::ctl
