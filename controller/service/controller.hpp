#pragma once
// gantry-controller's wiring: builds the services, connects them one way,
// and hands the server their entry points. It owns no domain logic:
//
//   HttpServer ─ Routes ─┬─ RunService ───────┐
//        │               ├─ GateService ─ ReleaseService ─┐
//        │               └─ AuditLog          │           │
//        └─ AgentGateway (sessions, LogIngest) ┴─ Engine (Scheduler, write-ahead) ─ Store
//
// Engine hooks (gates, stage and run ends) carry events back up without a
// dependency cycle. The tick drives leases, gates and retention.
//
// Threading: everything runs on the EventLoop's thread, except pipeline
// resolution from git (libgit2, blocking), which runs on GitWorkers'
// threads and posts its result back. The loop must outlive the Controller.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth.hpp"
#include "config.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "gantry/pipelines/model.hpp"
#include "service/clock.hpp"

namespace gantry::controller {

class Store;
class EventHub;
class EventPublisher;
class EventSink;
class Notifier;
class AuditLog;
class Engine;
class KubePods;
class CommitStatus;
class ChangePoller;
class CoordinationService;
class RunService;
class ReleaseService;
class GateService;
class AgentGateway;
class Routes;
class GitWorkers;
class RepoWatcher;
class Retention;

class LeaderLease;

struct ControllerOptions {
  int64_t tick_ms = 100;
  int64_t heartbeat_ms = 2000;
  // `gantry run` (SchedulerOptions): every label served here, and stages left out.
  bool any_label = false;
  std::function<std::string(const pipelines::Stage& stage, const std::string& stage_id)> skip_stage;
  // Controllers sharing PostgreSQL (docs/ha.md): the lease this one holds, taken before it was
  // built. It renews it every third of its length; when it cannot prove it still leads (another
  // took the lease, or no renewal got through in time), on_deposed is called (main exits, so that
  // nothing more is written and the service manager starts it again, as a follower).
  std::shared_ptr<LeaderLease> lease;
  std::function<void(const std::string& why)> on_deposed;
};

class Controller {
 public:
  // Opens the store and generates tokens; throws std::runtime_error on a
  // startup error (unusable data dir).
  Controller(Config config, net::EventLoop& loop, ControllerOptions options = {});
  ~Controller();

  bool start(std::string& error);  // listens, recovers unfinished runs
  // Reloads users, agent tokens, environments (GMUD policies) and secrets
  // from `path`; a bad file changes nothing. Both outcomes are audited.
  // Listening, data_dir, repositories and TLS take a restart.
  void reload(const std::string& path);
  uint16_t port() const;
  const GeneratedTokens& tokens() const { return tokens_; }
  void stop();

 private:
  void build_auth();
  // The credentials of private repositories and libraries, to the git workers (and reloads).
  void
  apply_git_credentials();  // auth_ from config_ (and the generated tokens when it names nobody)
  void tick();

  Config config_;
  net::EventLoop& loop_;
  ControllerOptions options_;
  SystemClock clock_;
  GeneratedTokens tokens_;
  Authenticator auth_;
  // In dependency order: each is built from those above it.
  std::unique_ptr<Notifier> notifier_;  // notifications: outlives every service that tells it
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventHub> hub_;
  std::unique_ptr<EventSink> events_;  // the EventPublisher, wrapped by NotifyingEvents
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<RunService> runs_;
  std::unique_ptr<ReleaseService> releases_;
  std::unique_ptr<GateService> gates_;
  std::unique_ptr<AgentGateway> agents_;
  std::unique_ptr<GitWorkers> git_;
  std::unique_ptr<RepoWatcher> watcher_;  // after git_: destroyed first
  std::unique_ptr<Routes> routes_;
  std::unique_ptr<Retention> retention_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<CommitStatus> statuses_;             // forge: commit statuses
  std::unique_ptr<CoordinationService> coordination_;  // lock and milestone steps
  std::unique_ptr<ChangePoller> changes_;  // forge: change requests by polling; calls runs_
  std::unique_ptr<KubePods> kube_;         // kubernetes: pods per job; last, so destroyed first
  std::string listen_url(const std::string& host) const;
  void renew_lease();
  void deposed(const std::string& why);
  int64_t lease_renewed_mono_ = 0;  // steady clock, ms: when the last renewal that held was sent
  int64_t lease_checked_mono_ = 0;
  int64_t last_pod_check_ = 0;
  uint64_t tick_timer_ = 0;
  int64_t last_gate_check_ = 0;
};

}  // namespace gantry::controller
