#pragma once
// The scheduler: runs in progress, the queue of jobs (leaf stages waiting for
// an agent), the connected agents with their executors, and the leases that
// make a job run at most once at a time. Pure and synchronous, driven by the
// I/O layer (controller/service), which feeds it agent messages and ticks and
// then persists what changed and sends what it queued (write-ahead: records
// are stored before any message leaves).
//
// Rules: jobs are dispatched in FIFO order across runs, each to a connected
// agent whose labels match the stage's label expression and that has a free
// executor; stages that inherit the pipeline's agent prefer the agent that
// ran the first of them. A job's lease is renewed by its agent's heartbeats;
// when it lapses (agent_lost_after) the attempt is lost and retried if the
// stage has `retry`, else the stage fails with "agent lost". Every job message
// carries an epoch; a new dispatch bumps it and stale ones are refused.
//
// Its parts: the JobBoard (agents, jobs, leases, messages to agents), the
// GateDesk (which stage waits at which gate, the requests to open), the
// run state machine (RunState) and a deploy's phases (rollout.hpp). The
// Scheduler itself decides what an event means for a run: which leaf goes
// next, what an ended or lost job means, when a run ends.
//
// No I/O, no clock: `now` is passed in (unix ms). Not thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gantry/protocol/messages.hpp"
#include "scheduler/coordination.hpp"
#include "scheduler/gate_desk.hpp"
#include "scheduler/job_board.hpp"
#include "scheduler/run_state.hpp"

namespace gantry::controller {

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Takes a run (new, or unfinished from before a restart, with its stage
  // records). Returns an error when its pipeline does not load. `parsed`:
  // the pipeline already loaded by the caller (not parsed again).
  std::optional<std::string> submit(RunRecord run, const std::vector<StageRecord>& stages,
                                    int64_t now, const std::string& previous_result = {},
                                    std::optional<pipelines::Pipeline> parsed = {});
  bool cancel_run(int64_t run_id, const std::string& reason, int64_t now);
  // A run of job_name that waits for its turn (disableConcurrentBuilds) and
  // has not started: a newer commit of the same branch takes its place.
  const RunState* waiting_run(const std::string& job_name) const;
  // The runs of job_name that are queued or wait at a gate (a closed change request's).
  std::vector<int64_t> waiting_runs_of(const std::string& job_name) const;
  // The runs of job_name that have not ended, as (id, number).
  std::vector<std::pair<int64_t, int64_t>> unfinished_runs_of(const std::string& job_name) const;
  // Puts `record` (same id) in that run's place, with its new pipeline.
  std::optional<std::string> replace_waiting(RunRecord record,
                                             std::optional<pipelines::Pipeline> parsed = {});

  // Agents (the rest of their messages go to board()). A hello re-sends
  // assignments never received and ends jobs lost with a previous instance.
  protocol::Welcome hello(const protocol::Hello& hello, const std::string& token_name, int64_t now);
  // `committed`: log bytes the controller holds for the job. A finish that
  // claims more gets a "log_gap" nack; otherwise it is applied (once).
  std::variant<protocol::FinishAck, protocol::Nack> finish(const std::string& agent_id,
                                                           const protocol::Finish& f,
                                                           uint64_t committed, int64_t now);
  // Gates (scheduler_gates.cpp). The stage's gate of this kind is open: it
  // queues for an agent; `values` (an input's parameters) reach its steps as
  // environment variables. Both return false when the stage does not wait
  // for that gate.
  bool open_gate(int64_t run_id, const std::string& stage_id, GateKind kind,
                 const std::map<std::string, std::string>& values, int64_t now);
  // The gate stays shut (rejected, expired, unknown): the stage fails with `reason`.
  bool fail_gate(int64_t run_id, const std::string& stage_id, GateKind kind,
                 const std::string& reason, int64_t now);
  // Says on a waiting stage what it waits for ("waiting for GMUD-3: ...").
  void annotate_gate(int64_t run_id, const std::string& stage_id, const std::string& reason);

  // Deploy phases (scheduler_rollout.cpp). Both return "" when done, else
  // why not, to be put after "release R-n ...": `gantry promote` moves a
  // paused canary on (a timed pause ends early); `gantry abort` rolls a
  // deploy in progress back now (a running phase is stopped first).
  std::string promote(int64_t run_id, const std::string& stage_id, int64_t now);
  std::string abort_deploy(int64_t run_id, const std::string& stage_id, const std::string& reason,
                           int64_t now);

  // A config reload: the environments deploys may target, and the secrets
  // with their scopes.
  // Which agent pools serve which repositories only (SchedulerOptions::pool_repositories).
  void set_pool_repositories(std::map<std::string, std::set<std::string>> pools) {
    options_.pool_repositories = std::move(pools);
  }
  // SchedulerOptions::repository_credentials and how git hosts are checked (a reload).
  void set_git_access(std::map<std::string, std::string> credentials, std::string known_hosts,
                      std::string ca_pem) {
    options_.repository_credentials = std::move(credentials);
    options_.git_known_hosts = std::move(known_hosts);
    options_.git_ca_pem = std::move(ca_pem);
  }
  // SchedulerOptions::public_url, known once the controller listens.
  void set_public_url(std::string url) { options_.public_url = std::move(url); }
  void reconfigure(std::map<std::string, bool> environments,
                   std::map<std::string, std::string> secrets,
                   std::map<std::string, SecretScope> scopes);

  // Leases, accept and cancel deadlines, run timeouts, timed pauses, then
  // dispatch.
  void tick(int64_t now);
  // Hands queued jobs to free agents now (after a finish, a hello, a new
  // run), rather than at the next tick.
  void dispatch(int64_t now);

  // What changed since the last call: persist these, then send the
  // messages (board().take_outgoing()) and open the gates
  // (gates().take_requests()).
  std::vector<RunState*> take_dirty_runs();
  std::vector<int64_t> take_finished_runs();  // runs that ended; dropped from memory after

  // The run in memory; nullptr when gone. The owner clears what it stored
  // (dirty flags) through the non-const one.
  const RunState* run(int64_t run_id) const;
  RunState* stored_run(int64_t run_id);
  void forget_run(int64_t run_id);  // after the owner stored its end

  // Pods (scheduler_pods.cpp), with a cluster (SchedulerOptions::max_pods). A queued job of a
  // kubernetes agent asks for a pod named after it; the pod's agent has that name and takes
  // that job only. What to create, and the pods whose jobs are gone (ended, retried, cancelled)
  // to delete: the service does both in the cluster.
  struct PodChanges {
    std::vector<PodRequest> create;
    std::vector<std::string> remove;
  };
  PodChanges take_pod_changes();
  // The cluster could not run the pod (a bad spec, an image that cannot be pulled, the start
  // timeout): its job fails with `reason`, even when the pod's agent has it already.
  void pod_failed(const std::string& pod, const std::string& reason, int64_t now);
  // How the pod is getting on ("ContainerCreating", "Pending: 0/3 nodes are available"),
  // said on the waiting stage.
  void pod_progress(const std::string& pod, const std::string& status);
  // After a restart: a pod found in the cluster ("gantry-RUN-NODE-ATTEMPT") belongs to that
  // job again if it is on the board at that attempt (deleted when it leaves); false: delete it.
  bool adopt_pod(const std::string& pod);

  // Lockable resources (scheduler_locks.cpp, coordination.hpp). The lock step's requests go
  // through these, so that a release lets a run waiting for the pipeline's
  // `options { lock(...) }` start; a job's locks are released when it ends, a run's when it ends.
  LockTable::Answer acquire_lock(const std::string& holder, int64_t run_id,
                                 const LockRequest& request, int64_t now);
  void release_lock(const std::string& holder, int64_t now);
  void declare_locks(const std::vector<LockResource>& resources, int64_t now);  // config, reload
  const LockTable& locks() const { return locks_; }

  JobBoard& board() { return board_; }
  const JobBoard& board() const { return board_; }
  GateDesk& gates() { return gates_; }

 private:
  // The agent label a node's job needs: as written, or its expression's value.
  std::string label_of(RunState& run, int node, std::string& error);
  // The stage's own label (evaluated when written as an expression), without tools.
  std::string stage_label(RunState& run, int node, std::string& error);
  void apply(RunState& run, const std::vector<RunAction>& actions, int64_t now);
  void dispatch_leaf(RunState& run, int node, int64_t now);
  void decide_when(RunState& run, int node, int64_t now);
  void stop_leaf(RunState& run, int node, const std::string& reason, int64_t now);
  void assign(Job& job, AgentState& agent, int64_t now);
  void end_attempt(const std::string& job_id, std::optional<pipelines::Result> result,
                   const std::string& reason, bool lost, int64_t now, bool inconclusive = false);
  void start_waiting_runs(int64_t now);
  // The pod a queued job of a kubernetes agent waits for (its name is the job's label), asked
  // for here when a pod may be made; `reason` says what it waits for. "" when the job needs
  // no pod; `error` when its spec cannot be had.
  std::string pod_for(RunState& run, const Job& job, std::string& reason, std::string& error);

  // The pipeline's `options { lock(...) }`.
  struct RunLock {
    LockRequest want;
    std::string variable;
  };
  static std::string run_lock_holder(int64_t run_id);  // "run:ID"
  std::optional<RunLock> run_lock_of(const RunState& run, std::string& error) const;
  // Starts the run once it holds its lock; until then it waits in lock_waiting_.
  void begin_run(RunState& run, int64_t now);
  void note_lock_wait(RunState& run, const LockTable::Answer& answer);
  void start_lock_waiting_runs(int64_t now);
  // The lock's `variable` for the run's jobs: VAR (names joined by commas), VAR0, VAR1...
  void add_lock_env(const RunState& run, std::map<std::string, std::string>& env) const;

  struct PodEntry {
    std::string job_id;
    int attempt = 0;
    std::string status;  // from pod_progress
  };
  std::map<std::string, PodEntry> pods_;  // by pod name
  std::vector<PodRequest> pod_requests_;

  SchedulerOptions options_;  // first: the board and the desk keep a reference
  JobBoard board_;
  GateDesk gates_;
  std::map<int64_t, std::unique_ptr<RunState>> runs_;
  std::deque<int64_t> waiting_runs_;  // disableConcurrentBuilds
  LockTable locks_;
  std::map<int64_t, RunLock> run_locks_;  // runs with options { lock(...) }
  std::deque<int64_t> lock_waiting_;      // queued runs waiting for their lock
  std::vector<int64_t> finished_;
  std::set<int64_t> dirty_;
};

}  // namespace gantry::controller
