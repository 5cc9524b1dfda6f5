#pragma once
// gantry-controller's service: wires the HTTP/WebSocket server (gantry_net)
// to the scheduler, the store, the log files and the authenticator. It is
// the I/O layer the pure scheduler is driven by: every agent message and
// API call becomes a scheduler call, then flush() stores what changed (in
// one transaction) before any message it caused leaves (write-ahead), then
// sends them. Log chunks are appended and acknowledged after a group fsync.
//
// Threading: everything runs on the EventLoop's thread, except pipeline
// resolution from git (libgit2, blocking), which runs on a worker thread
// and posts its result back. Ownership: the Controller owns all state; the
// loop must outlive it.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "auth.hpp"
#include "config.hpp"
#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "scheduler/scheduler.hpp"
#include "service/events.hpp"
#include "service/log_files.hpp"
#include "service/retention.hpp"
#include "store/store.hpp"

namespace gantry::controller {

class GitWorkers;
class RepoWatcher;
struct ResolvedPipeline;
struct RepoTrigger;

struct ControllerOptions {
  int64_t tick_ms = 100;
  int64_t heartbeat_ms = 2000;
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

  // API (api.cpp)
  net::Response handle_http(const net::Request& req);
  // The operators' web page: GET / and /assets/NAME, no token (api_web.cpp).
  net::Response serve_web(const net::Request& req);

 private:
  struct AgentSession;
  friend struct AgentSession;

  // agent_link.cpp
  std::optional<net::Response> accept_agent(const net::Request& req,
                                            std::shared_ptr<net::WsConnection> conn,
                                            net::WsHandlers& handlers);
  void on_agent_text(const std::shared_ptr<AgentSession>& s, std::string_view text);
  void on_agent_log(const std::shared_ptr<AgentSession>& s, std::string_view frame);
  void on_agent_closed(const std::shared_ptr<AgentSession>& s);
  void send_to_agent(const std::string& agent_id, const protocol::ControllerMessage& m);
  std::string log_path_for(const std::string& job_id, bool* ok);
  void sync_logs();
  // The log bytes made durable by the last sync go out as events; `final`
  // for a job that finished (its last bytes, then it is forgotten).
  void publish_logs(const std::string& final_job = {});
  void note_log(const std::string& job_id, const std::string& path, uint64_t committed);

  // api_events.cpp: GET /api/v1/events (docs/events.md) and what it carries.
  std::optional<net::Response> accept_events(const net::Request& req,
                                             std::shared_ptr<net::WsConnection> conn,
                                             net::WsHandlers& handlers);
  void emit_run(const RunRecord& run);
  void emit_stage(const StageRecord& stage);
  void emit_approval(const ApprovalRecord& a);
  void emit_release(const ReleaseRecord& r);
  void emit_agent(const std::string& name, const std::string& status);

  // api_runs.cpp
  net::Response create_run(const net::Request& req, const Principal& who);
  net::Response list_runs(const net::Request& req);
  net::Response show_run(int64_t id);
  net::Response cancel_run(int64_t id, const Principal& who);
  net::Response retry_run(int64_t id, const Principal& who);
  net::Response stage_log(int64_t id, const net::Request& req);
  net::Response list_artifacts(int64_t id);
  net::Response get_artifact(int64_t id, const net::Request& req);
  net::Response agent_files(const net::Request& req, const Principal& who);
  net::Response list_agents();
  net::Response metrics();
  void start_run(RunRecord& run);  // stores it (filling id, number) and hands it to the scheduler
  // Stores it as failed, with `log` as its log (a "(pipeline)" stage).
  void fail_run(RunRecord run, const std::string& reason, const std::string& log_text = {});

  // api_repos.cpp: watched repositories, webhooks, runs from git.
  net::Response git_hook(const net::Request& req);
  void audit_webhook_refusal(const std::string& repo, const std::string& remote,
                             const std::string& why);
  net::Response list_repos();
  void start_triggered(const RepoTrigger& t);
  // Fills the run from its pipeline at a commit and starts it (or fails it
  // with the lint errors); a waiting run of the same branch takes the newer
  // commit instead of a second run being queued.
  void launch(RunRecord run, const ResolvedPipeline& p);
  std::string base_commit(const std::string& job_name);

  // api_audit.cpp: appends to the hash-chained audit log (store) and writes
  // one `comp=audit` log line. Never fails the caller: a store failure is logged.
  void audit(const std::string& actor, const std::string& action, const std::string& subject,
             const std::map<std::string, std::string>& details = {});
  net::Response list_audit(const net::Request& req);
  net::Response verify_audit();

  // gates.cpp: the change requests of stages waiting at a gate (GMUD, input).
  void handle_gates(const std::vector<GateRequest>& gates);
  void open_request(const GateRequest& g);
  // Stores a new request for `g` with the commits it ships, and settles it.
  // Returns its id (0 when it could not be stored).
  int64_t create_request(const GateRequest& g, std::vector<ChangeRecord> range,
                         const std::string& range_base);
  // POST /api/v1/agent/jobs/JOB/input: an `input` step asks (again).
  net::Response input_step(const Job& job, const net::Request& req);
  bool stage_running(const ApprovalRecord& a) const;
  void cancel_requests(int64_t run_id, const std::string& stage_id, const std::string& reason);
  void check_gates();  // on the tick: expiry, and the windows and freezes of approved requests
  // Evaluates `a` now and acts on it: records its end, opens or fails the gate.
  void settle(ApprovalRecord a);
  // The policy `a` is decided under: its environment's (nullopt when the
  // config no longer has it), or, for an input, its submitters.
  std::optional<gmud::Policy> policy_of(const ApprovalRecord& a) const;
  std::vector<gmud::Person> people_of(const ApprovalRecord& a) const;
  gmud::Evaluation evaluate_approval(const ApprovalRecord& a) const;
  // releases.cpp: the release ledger.
  void begin_release(const GateRequest& g);  // records R-<n>, then opens the stage's release gate
  void end_release(const RunState& run, int record);  // a deploy stage ended
  net::Response list_releases(const net::Request& req);
  net::Response show_release(const std::string& id);
  // POST /api/v1/releases/R-n/rollback: R's rollback steps at R's commit, as a run.
  net::Response rollback_release(const std::string& id, const net::Request& req,
                                 const Principal& who);
  void end_rollback(const RunRecord& run);  // a rollback run ended
  // What every action on a release (rollback, promote, abort) checks first:
  // the permission (403, audited), the release (404), a body holding only a
  // comment (400). `action` names the permission, `phrase` the verb.
  struct ReleaseAction {
    ReleaseRecord release;
    std::string name, comment;
  };
  std::variant<ReleaseAction, net::Response> release_action(
      const std::string& text, const net::Request& req, const Principal& who, Permission permission,
      const std::string& action, const std::string& phrase);
  // POST /api/v1/releases/R-n/promote | abort: a canary in progress goes on
  // past its pause, or rolls back now.
  net::Response steer_release(const std::string& id, const net::Request& req, const Principal& who,
                              bool promote);
  std::string release_progress(const ReleaseRecord& r) const;  // "waiting: canary at 25%: ..."

  // api_approvals.cpp
  net::Response list_approvals(const net::Request& req);
  net::Response show_approval(const std::string& id);
  net::Response list_environments();
  void show_current_quorum(ApprovalRecord& a) const;
  net::Response decide(const std::string& id, const net::Request& req, const Principal& who,
                       bool approve);

  void persist(const std::vector<RunState*>& dirty);
  void build_auth();  // auth_ from config_ (and the generated tokens when it names nobody)
  void flush();       // persist dirty state, then send queued messages
  void tick();
  int64_t now() const;

  Config config_;
  net::EventLoop& loop_;
  ControllerOptions options_;
  GeneratedTokens tokens_;
  Authenticator auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Retention> retention_;  // prunes by config_.retention; before store_ goes
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<GitWorkers> git_;
  std::unique_ptr<RepoWatcher> watcher_;  // after git_: destroyed first
  LogFiles logs_;
  std::unique_ptr<EventHub> events_;
  // Log bytes written (not yet published as events), by job id.
  struct LogProgress {
    int64_t run_id = 0;
    std::string stage_id, path;
    int attempt = 0;
    uint64_t committed = 0;
  };
  std::map<std::string, LogProgress> log_progress_;
  std::map<int64_t, std::string> run_event_state_;  // run -> what its last run event said
  std::map<std::string, std::shared_ptr<AgentSession>> sessions_;  // by agent id
  std::vector<protocol::LogAck> pending_acks_;
  std::vector<std::string> pending_ack_agents_;
  std::map<std::string, double> stage_seconds_sum_;  // metrics
  std::map<std::string, int64_t> stage_count_;
  // Requests whose stage waits: pending, or approved and held by a window
  // or a freeze. Loaded again from the store when a restarted run asks.
  std::map<int64_t, ApprovalRecord> open_approvals_;
  int64_t last_gate_check_ = 0;
  int64_t refusal_window_start_ = 0;  // audited webhook refusals, per minute
  int refusals_in_window_ = 0;
  int refusals_suppressed_ = 0;
  uint64_t tick_timer_ = 0;
  bool sync_scheduled_ = false;
  std::chrono::steady_clock::time_point last_log_sync_{};  // end of the last group fdatasync
};

}  // namespace gantry::controller
