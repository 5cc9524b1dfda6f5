#pragma once
// gantry-agent's core: the link to the controller (one WebSocket, reconnecting
// with full-jitter backoff, soon while it holds jobs), the jobs it holds,
// their spools and shipping, heartbeats, fencing, and the retention of
// workspaces and mirrors. A job runs on its own thread (JobRunner); deleting
// files on the Trash's; all the rest runs on the EventLoop's thread.
//
// Guarantees (docs/protocol.md): output goes to the job's spool on disk
// first and ships in offset-numbered chunks until the controller acknowledges
// them, across reconnects and agent restarts; the finish of a job is kept in
// its state directory (fsynced) until acknowledged; a job whose lease the
// agent can no longer renew (no heartbeat ack for 3/4 of the lease) is
// stopped (fenced) before the controller could hand it to another agent. A
// controller that cannot store (nack `log_error`, `unavailable`) gets the
// same bytes and finish again after a backoff; only a stale epoch or an
// unknown job makes the agent stop and forget a job.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/tls.hpp"
#include "gantry/net/ws_client.hpp"
#include "gantry/protocol/messages.hpp"
#include "runner/container_engine.hpp"
#include "runner/process.hpp"

namespace gantry::agent {

// The controller the agent is connected to (or was last): written on the loop thread, read by
// jobs' threads for their file requests.
class CurrentController {
 public:
  explicit CurrentController(std::string url) : url_(std::move(url)) {}
  std::string get() const {
    std::lock_guard lock(mutex_);
    return url_;
  }
  void set(std::string url) {
    std::lock_guard lock(mutex_);
    url_ = std::move(url);
  }

 private:
  mutable std::mutex mutex_;
  std::string url_;
};

struct AgentConfig {
  // or https://; several controllers sharing a database (docs/ha.md): their URLs separated by
  // commas, tried in turn until one leads.
  std::string controller = "http://127.0.0.1:8080";
  std::string token;
  // For https: the CA to trust (else the system's), a client certificate for mutual TLS, and
  // --insecure-skip-verify (warned about at every start).
  net::TlsClientOptions tls;
  // `job_user`: steps run as this user, not the agent's (which must then be root); the state
  // directory, the token and other jobs' files stay out of its reach.
  std::string job_user;
  // `container_engine`: auto (podman, then docker), podman, docker or none. The one found
  // at start runs docker/dockerfile/kubernetes stages; the agent then advertises the
  // capability label `docker` and `docker:ENGINE` (docs/containers.md).
  std::string container_engine = "auto";
  // gantry run: the engine it already found (not probed again); overrides container_engine.
  std::shared_ptr<const ContainerEngine> found_engine;
  std::string name;
  std::vector<std::string> labels;
  // `tools: {maven: {M3: /opt/maven}}` (or --tool maven:M3=/opt/maven): "TYPE:NAME" -> home.
  // Advertised as labels "tool:TYPE:NAME"; a job's `tools { }` puts HOME/bin on PATH.
  std::map<std::string, std::string> tools;
  // gantry run: a tool not configured is looked up on PATH (its home: the directory above
  // the tool's command), not refused.
  bool tools_from_path = false;
  int executors = 1;
  std::string work_dir = "./gantry-agent";
  std::string fixed_workspace;  // gantry run: every job runs here, no checkout
  // A job's log is kept up to this many bytes; past it, output is dropped
  // and the log ends with a truncation marker. At most 1 GiB (the
  // controller's own cap).
  uint64_t log_limit = protocol::kLogLimit;
  // Workspaces kept per job once its runs are done (the newest); older ones
  // are removed after each finished job and at startup.
  int keep_workspaces = 1;
  // Mirrors no checkout used for this long are removed at startup and
  // daily; zero keeps them forever.
  std::chrono::seconds mirror_max_age{std::chrono::hours(24 * 14)};
};

}  // namespace gantry::agent
namespace gantry::git {
class GitCache;
}  // namespace gantry::git
namespace gantry::agent {
struct AgentJob;
class FenceKeeper;
class Trash;

// A running agent rewrites WORK/agent.alive at most every 10 s while its
// controller acknowledges its heartbeats; it is healthy while the file is
// under a minute old (`gantry-agent --health FILE`: the images' HEALTHCHECK,
// a pod's liveness probe). `message` says why, either way.
inline constexpr const char* kAliveFile = "agent.alive";
inline constexpr int64_t kAliveEveryMs = 10000;
inline constexpr std::chrono::seconds kAliveFor{60};
bool agent_healthy(const AgentConfig& config, std::string& message);

class Agent {
 public:
  // Prepares the work dir (state/, workspace/, mirrors/); throws
  // std::runtime_error when it is unusable (a startup error).
  Agent(net::EventLoop& loop, AgentConfig config);
  ~Agent();

  void start();
  void stop();  // stops the link; running jobs are killed
  const std::string& agent_id() const { return agent_id_; }
  std::function<void(const std::string&)> on_fatal;  // the controller refused our token
  // The process that fences this agent's jobs when the agent itself is
  // paused (fence_keeper.hpp); optional, and not owned.
  void set_fence_keeper(FenceKeeper* keeper) { keeper_ = keeper; }

 private:
  void on_open();
  void on_message(std::string_view text);
  void on_assign(const protocol::Assign& a);
  void on_welcome(const protocol::Welcome& w);
  void on_cancel(const protocol::Cancel& c);
  void on_nack(const protocol::Nack& n);
  // The controller could not store what it was sent: send it again, from the
  // last acknowledged offset, after a backoff (200 ms doubling to 5 s).
  void retry_later(AgentJob& job, const std::string& code);
  net::WsBackoff reconnect_backoff() const;
  void start_job(const std::shared_ptr<AgentJob>& job);
  void job_ended(const std::string& job_id, uint64_t epoch);
  void ship();  // sends log chunks and finishes that are due
  void heartbeat();
  void check_fence();
  void renewed();                  // the controller acknowledged us: the lease holds
  int64_t fence_deadline() const;  // for the keeper, a little after our own fence
  void stop_job(AgentJob& job, const std::string& reason, int64_t grace_ms, bool fenced);
  void drop_job(const std::string& job_id);
  void recover_jobs();  // jobs left by a previous process
  void prune_workspaces();
  void prune_mirrors();  // only while no job runs: a checkout may be using one
  void send(const protocol::AgentMessage& m);
  int64_t mono_ms() const;

  net::EventLoop& loop_;
  AgentConfig config_;
  std::string agent_id_, instance_id_;
  std::string state_dir_, workspace_dir_;
  // The workspace each stage of a run last had here ("WS\nSTAGE" -> path): a retried
  // branch comes back to its own @2, as Jenkins' retry stays in its workspace.
  std::map<std::string, std::string> stage_workspaces_;
  std::optional<RunAs> run_as_;  // from config_.job_user
  // The container engine found at start (config_.container_engine), if any.
  std::shared_ptr<const ContainerEngine> engine_;
  std::unique_ptr<net::WsClient> link_;
  // The controllers' base URLs (AgentConfig::controller), by the WebSocket URL each becomes; the
  // one of the current connection, for the jobs' file requests (read from their threads).
  std::map<std::string, std::string> controller_of_;
  std::shared_ptr<CurrentController> current_controller_;
  int64_t highest_term_ = 0;  // the highest leader's term a welcome carried
  std::unique_ptr<git::GitCache> git_;
  std::unique_ptr<Trash> trash_;
  std::map<std::string, std::shared_ptr<AgentJob>> jobs_;
  bool welcomed_ = false;
  int64_t heartbeat_ms_ = 2000;
  int64_t lease_ttl_ms_ = 30000;
  int64_t last_ack_ms_ = 0;
  int64_t alive_touched_ms_ = 0;  // when kAliveFile was last written
  uint64_t hb_timer_ = 0, ship_timer_ = 0, fence_timer_ = 0;
  uint64_t mirror_timer_ = 0, mirror_retry_timer_ = 0;
  FenceKeeper* keeper_ = nullptr;
};

}  // namespace gantry::agent
