#pragma once
// gantry-agent's command line and config file (SPEC §10): the same keys as
// flags (controller, token, name, labels, executors, work, log_limit,
// keep_workspaces, mirror_max_age). Unknown keys and
// bad values are errors with FILE:LINE:COL. Pure parsing; the file is read
// here (bounded to 64 KiB).

#include <string>
#include <vector>

#include "agent.hpp"

namespace gantry::agent {

// Applies argv (without argv[0]) to `config`; returns false with `error`
// (a usage message) on bad arguments. `--config FILE` is read in place.
bool parse_agent_args(const std::vector<std::string>& args, AgentConfig& config, std::string& error,
                      bool& show_help, bool& show_version);

bool load_agent_config(const std::string& path, AgentConfig& config, std::string& error);

}  // namespace gantry::agent
