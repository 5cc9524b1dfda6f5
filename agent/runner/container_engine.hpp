#pragma once
// The agent's container engine (SPEC §5, docs/containers.md): podman or
// docker, found at startup with the flags that work on this machine, and the
// few engine commands the job runner needs (pull, run, exec argv, rm).
//
// Detection probes for real: for podman it runs a throwaway container from a
// root filesystem of bind mounts (`--rootfs`, no image needed), trying the
// default runtime and cgroup manager first, then runc and cgroupfs, and the
// agent's own resource limits where the engine's defaults are refused (a
// sandbox that forbids raising RLIMIT_NOFILE). Docker is used when its daemon
// answers. Nothing is hard-coded to one machine; the working combination is
// logged and advertised.
//
// Blocking calls, each bounded in time; meant for the agent's start and for a
// job's thread.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gantry::agent {

struct ContainerEngine {
  std::string name;                    // "podman" | "docker" | "kubernetes" (a pod's agent)
  std::string version;                 // the client's
  std::vector<std::string> command;    // the program and its global flags (--runtime ...)
  std::vector<std::string> run_flags;  // added to every `run` (--ulimit ...)
  bool rootless = false;
  std::string runtime;         // what it reported, for the log
  std::string cgroup_manager;  // podman's, for the log

  // "podman 4.3.1 (rootful, runtime runc, cgroup manager cgroupfs, --ulimit nofile=...)".
  std::string describe() const;
  // command + args.
  std::vector<std::string> argv(std::vector<std::string> args) const;
};

// `wanted`: "auto" (podman, then docker), "podman", "docker", "none", "kubernetes" (the agent
// of a pod made by the controller: its containers run already), or the path of a
// podman or docker program (docker when its name says so). Returns the
// first engine that runs a container here; otherwise nullopt, with `report` saying
// what was tried and why each failed (logged by the agent, so an admin sees why
// the capability is missing).
std::optional<ContainerEngine> detect_container_engine(const std::string& wanted,
                                                       std::string& report);

// A short engine command, its output captured (at most 1 MiB) and bounded by
// `limit` (killed past it). Returns the exit code, or -1 when it could not start
// or timed out (`out` then says why).
int run_engine_command(const std::vector<std::string>& argv, std::string& out,
                       std::chrono::milliseconds limit,
                       const std::map<std::string, std::string>* env = nullptr);

// Removes the containers this agent left behind (a crash, kill -9): those labelled
// gantry.agent=AGENT_ID. Returns how many were removed.
int remove_leftover_containers(const ContainerEngine& engine, const std::string& agent_id);

// Splits a docker `args` string the way a shell would split words (quotes,
// backslashes), without running one: no globbing, no command substitution.
// $NAME and ${NAME} take their values from `env` (Jenkins users write
// '-v $HOME/.m2:/root/.m2'). False with `error` on an unclosed quote.
bool split_args(const std::string& text, const std::map<std::string, std::string>& env,
                std::vector<std::string>& out, std::string& error);

}  // namespace gantry::agent
