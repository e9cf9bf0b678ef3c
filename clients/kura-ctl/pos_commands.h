#pragma once

#include <string>
#include <vector>

namespace kura::ctl {

/// Runs a `terminals` or `pos-store` command with its arguments; returns the exit code: 0 done,
/// 1 the service refused or failed, 2 bad usage. Returns -1 for any other command.
int RunPosCommand(const std::string& command, const std::vector<std::string>& args);

/// The usage lines of the register commands.
const char* PosUsage();

}  // namespace kura::ctl
