#pragma once

#include <string>
#include <vector>

namespace kura::ctl {

/// Runs a ledger command (items, locations, channels, stock, receive, count, adjust, sell,
/// holds, changes, verify) with its arguments; returns the exit code: 0 done, 1 the service
/// refused or failed, 2 bad usage. Returns -1 when `command` is not a ledger command.
int RunLedgerCommand(const std::string& command, const std::vector<std::string>& args);

/// The usage lines of the ledger commands.
const char* LedgerUsage();

}  // namespace kura::ctl
