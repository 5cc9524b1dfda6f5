#pragma once
// gantry-agent's command line and config file (SPEC §10): the same keys as
// flags (controller, token, token_file, ca, client_cert, client_key,
// insecure_skip_verify, name, labels, executors, work, log_limit,
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

// The agent's token, in order: --token (warned about: any local user can
// read a command line), --token-file, the config file's token or
// token_file, then the environment variable GANTRY_AGENT_TOKEN.
constexpr const char* kTokenVariable = "GANTRY_AGENT_TOKEN";
// Reads one token (surrounding whitespace trimmed, at most 4 KiB); warns
// when the file is readable by group or others.
bool read_token_file(const std::string& path, std::string& token, std::string& error);
// Keeps the token from the jobs: removes GANTRY_AGENT_TOKEN from the
// environment steps inherit (and blanks it in /proc/PID/environ), blanks a
// --token value in argv, which /proc/PID/cmdline shows to every local user,
// and makes the agent undumpable (no /proc/PID/mem or ptrace by its user).
void hide_token(int argc, char** argv);

}  // namespace gantry::agent
