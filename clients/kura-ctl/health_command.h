#pragma once

#include <string>
#include <vector>

namespace kura::ctl {

/// `kura-ctl health [--addr HOST:PORT] [--service NAME] [--wait DURATION]`: prints the serving
/// status of a service and exits 0 when it is SERVING, 1 otherwise, 2 on bad usage. With
/// --wait, keeps asking until SERVING or the duration has passed.
int RunHealthCommand(const std::vector<std::string>& args);

}  // namespace kura::ctl
