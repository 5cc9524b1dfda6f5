#pragma once
// End-to-end test harness: real gantry-controller and gantry-agent processes
// on 127.0.0.1 (free ports), temp data dirs, real git repositories, the real
// `gantry` CLI. (Network faults: tests/fault/fault_proxy.hpp.) Everything is
// bounded in time and stopped by the destructors (SIGKILL as a last resort).
// Single-threaded use from a test, except the proxy, which forwards on its
// own thread.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace gantry::e2e {

using nlohmann::json;

struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

// A child process with stdout+stderr in a log file.
class Child {
 public:
  Child() = default;
  ~Child();
  // `env`: variables set for the child on top of this process's.
  bool start(const std::vector<std::string>& argv, const std::string& log_path,
             const std::map<std::string, std::string>& env = {});
  void signal(int sig);
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));  // exit status or -1
  bool alive();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Runs `command` with sh; its stdout (add 2>&1 for stderr too) and exit status.
struct CliResult;
CliResult shell(const std::string& command);

// A TCP port on 127.0.0.1 that was free a moment ago, for a server that must be told its port
// (git daemon, a registry); the caller retries or fails clearly if another process took it.
uint16_t free_port();

struct HttpResult {
  int status = 0;  // 0: transport error
  std::string body;
  std::map<std::string, std::string> headers;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
};

struct AgentOptions {
  std::string name;
  std::vector<std::string> labels;
  int executors = 1;
  std::string controller;               // default: the controller's address (or a proxy's)
  std::vector<std::string> extra_args;  // e.g. {"--log-limit", "100K"}
  // --container-engine: "none" unless a test runs containers (probing costs a container start).
  std::string container_engine = "none";
  // How the agent gets its token.
  enum class Token { File, CommandLine, Environment };
  Token token = Token::File;  // --token-file, --token, GANTRY_AGENT_TOKEN
  std::string token_file;     // Token::File: this file instead of the generated data/agent.token
  std::map<std::string, std::string> env;  // more environment for the agent process
};

class Cluster {
 public:
  // `config_yaml`: extra controller config; agent_lost_after defaults to 3s.
  explicit Cluster(std::string config_yaml = "");
  ~Cluster();

  // Called again after stop_controller(), starts it on the same port and
  // data dir (a restart, as agents and proxies see it).
  void start_controller();
  // Before start_controller(): a watched repository (not polled), so runs
  // of it by `name` get secrets (an inline or URL run gets none).
  // `extra`: more keys of its entry, as YAML flow-map text ("access: {team-a: developer}").
  void add_repository(const std::string& name, const std::string& url,
                      const std::string& extra = "");
  // With the controller running: makes the repository at `path` a configured one (named after
  // its directory, "repo3") through a config reload (SIGHUP), and returns its name once the
  // controller lists it. Runs of it by that name get secrets and may deploy through a gate.
  std::string watch_repository(const std::string& path);
  void stop_controller(int sig = 15);
  void signal_controller(int sig);  // without waiting (SIGHUP: reload)
  std::string config_path() const { return config_path_; }
  int start_agent(AgentOptions o);
  void stop_agent(int index, int sig = 15);
  Child& agent(int index) { return *agents_[static_cast<size_t>(index)]; }

  HttpResult http(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string& token = "<admin>",
                  const std::vector<std::pair<std::string, std::string>>& headers = {});
  json get_json(const std::string& path);
  CliResult cli(const std::vector<std::string>& args);
  // Polls until the run ends; returns its JSON (with stages).
  json wait_run(int64_t id, std::chrono::seconds timeout = std::chrono::seconds(60));
  json wait_stage(int64_t id, const std::string& stage, const std::string& status,
                  std::chrono::seconds timeout = std::chrono::seconds(60));
  void wait_agents(size_t connected, std::chrono::seconds timeout = std::chrono::seconds(20));
  std::string stage_log(int64_t id, const std::string& stage);
  // One attempt's log (attempt 0: the latest), and its size on the
  // controller without downloading it (-1 when the request fails).
  std::string stage_log(int64_t id, const std::string& stage, int attempt);
  int64_t stage_log_size(int64_t id, const std::string& stage, int attempt = 0);
  int64_t trigger(const std::string& repo, const std::map<std::string, std::string>& params = {});

  // A git repository with these files, committed; returns its path.
  std::string make_repo(const std::map<std::string, std::string>& files);

  std::string dir() const { return tmp_.path; }
  std::string url;
  uint16_t port = 0;
  std::string admin_token, agent_token;
  // For an https controller: the CA that http() and cli() (GANTRY_CA) trust.
  std::string ca_file;

 private:
  void write_config();

  TempDir tmp_;
  std::string config_yaml_;
  std::vector<std::tuple<std::string, std::string, std::string>> repositories_;  // name, url, extra
  std::string config_path_;
  std::unique_ptr<Child> controller_;
  std::vector<std::unique_ptr<Child>> agents_;
  int repos_ = 0;
};

// The stages of a run's JSON by id; one stage (null when absent).
std::map<std::string, json> stages_by_id(const json& run);
json stage_of(const json& run, const std::string& id);

// Runs `sql` with the sqlite3 command-line tool on the database `db` (the
// script goes to a file in `dir`); returns what it printed. For changing a
// stopped controller's store behind its back.
std::string sqlite3_cli(const std::string& db, const std::string& sql, const std::string& dir);
// GANTRY_E2E_DATABASE=postgresql: the controllers keep their store in PostgreSQL (the [pg] cases
// run so under ctest too, label postgresql). Cases that edit gantry.db behind the controller's
// back end before that part there, saying so.
bool store_on_postgresql();

std::string sha256_file(const std::string& path);
std::string sha256(const std::string& data);
// Lowercase hex HMAC-SHA256 of `body` under `secret` (a GitHub webhook's signature).
std::string hmac_sha256_hex(const std::string& secret, const std::string& body);
std::string read_file(const std::string& path);
bool process_alive(pid_t pid);
int64_t now_ms();

}  // namespace gantry::e2e
