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
#include "scheduler/run_state.hpp"

namespace gantry::controller {

struct SchedulerOptions {
  int64_t lease_ttl_ms = 30000;  // agent_lost_after
  int64_t heartbeat_ms = 2000;
  int64_t accept_timeout_ms = 5000;
  int64_t reconnect_grace_ms = 15000;  // added to leases adopted after a restart
  int64_t cancel_grace_ms = 10000;
  std::map<std::string, std::string> secrets;  // credentials id -> value
  // The environments a stage may deploy to (the controller config's); true
  // when deploys there wait for a GMUD. A deploy elsewhere fails closed.
  std::map<std::string, bool> environments;
  // Why a deploy to a gated environment may not start now (a freeze, outside
  // every window); empty: it may. Asked again right before a deploy job is
  // handed to an agent, since a queue can outlast a window. Injected, like
  // the clock, so the scheduler stays pure.
  std::function<std::vector<std::string>(const std::string& environment, int64_t now)>
      deploy_blocked;
  // `gantry run` (no one to ask): a canary's pause() and an inconclusive
  // analysis with `inconclusive 'pause'` go on by themselves.
  bool auto_promote = false;
};

// A stage that must pass a gate before it may take an agent (SPEC §7): a
// deploy to an environment with a GMUD policy (GateKind::Gmud), a Jenkins
// `input` (GateKind::Input), and, last, every deploy's release record
// (GateKind::Release, opened at once by the service with RELEASE_ID and
// PREVIOUS_RELEASE for the steps). The service opens (or finds) the change request
// and calls open_gate or fail_gate; meanwhile the stage waits, holding no
// agent. `cancel`: the stage stopped waiting (its run was cancelled, a
// sibling failed fast): the request should be cancelled.
struct GateRequest {
  int64_t run_id = 0;
  std::string stage_id;
  GateKind kind = GateKind::Gmud;
  std::string environment;
  bool cancel = false;
  std::string reason;  // cancel: why
  // What the request shows, evaluated with the stage's environment.
  std::string title, impact, rollback_plan;  // gmud
  std::string message, ok, submitter;        // input
  std::string submitter_parameter;           // input: the variable naming who approved
  std::string step;      // an `input` step's key (its id and attempt); "" for the directive
  std::string strategy;  // release: direct | canary
  struct Parameter {
    std::string name, type, default_value, description;
    std::vector<std::string> choices;
  };
  std::vector<Parameter> parameters;  // input
};

struct Job {
  std::string job_id;
  int64_t run_id = 0;
  int node = -1;
  uint64_t epoch = 0;
  int attempt = 1;
  std::string agent_id;  // empty while queued
  uint64_t seq = 0;      // FIFO order
  int64_t assigned_at = 0;
  int64_t lease_until = 0;
  bool accepted = false;
  bool orphan = false;    // running before a restart; waits for its agent's hello
  bool stopping = false;  // a cancel was sent (or is owed to a disconnected agent)
  std::string stop_reason;
  int64_t stop_deadline = 0;
};

struct AgentState {
  std::string agent_id, name, instance_id, token_name;
  std::set<std::string> labels;  // includes the agent's name, as in Jenkins
  int executors = 1;
  bool connected = false;
  std::set<std::string> jobs;  // job ids it holds
  int64_t last_seen = 0;
};

struct Outgoing {
  std::string agent_id;
  protocol::ControllerMessage message;
};

// The credentials ids that these steps name (withCredentials bindings, in
// nested bodies and script blocks too).
void collect_credential_ids(const std::vector<pipelines::Step>& steps, std::set<std::string>& ids);

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);

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
  // Puts `record` (same id) in that run's place, with its new pipeline.
  std::optional<std::string> replace_waiting(RunRecord record,
                                             std::optional<pipelines::Pipeline> parsed = {});

  protocol::Welcome hello(const protocol::Hello& hello, const std::string& token_name, int64_t now);
  void disconnected(const std::string& agent_id, int64_t now);
  void heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb, int64_t now);
  std::optional<protocol::Nack> accept(const std::string& agent_id, const protocol::Accept& a,
                                       int64_t now);
  // Whether the agent holds this job at this epoch (log chunks, step events).
  std::optional<protocol::Nack> check(const std::string& agent_id, const std::string& job_id,
                                      uint64_t epoch) const;
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
  std::vector<GateRequest> take_gate_requests();
  // Says on a waiting stage what it waits for ("waiting for GMUD-3: ...").
  void annotate_gate(int64_t run_id, const std::string& stage_id, const std::string& reason);

  // Deploy phases (scheduler_rollout.cpp). Both return "" when done, else
  // why not, to be put after "release R-n ...": `gantry promote` moves a
  // paused canary on (a timed pause ends early); `gantry abort` rolls a
  // deploy in progress back now (a running phase is stopped first).
  std::string promote(int64_t run_id, const std::string& stage_id, int64_t now);
  std::string abort_deploy(int64_t run_id, const std::string& stage_id, const std::string& reason,
                           int64_t now);

  // A config reload: the environments deploys may target, and the secrets.
  void reconfigure(std::map<std::string, bool> environments,
                   std::map<std::string, std::string> secrets);

  void tick(int64_t now);  // leases, accept and cancel deadlines, run timeouts, dispatch
  // Hands queued jobs to free agents now (after a finish, a hello, a new
  // run), rather than at the next tick.
  void dispatch_now(int64_t now) { dispatch(now); }

  // What changed since the last call: persist these, then send the messages.
  std::vector<RunState*> take_dirty_runs();
  std::vector<Outgoing> take_outgoing();
  std::vector<int64_t> take_finished_runs();  // runs that ended; dropped from memory after

  const RunState* run(int64_t run_id) const;
  // The owner's handle to clear what it stored (dirty flags); nullptr when gone.
  RunState* stored_run(int64_t run_id);
  const Job* job(const std::string& job_id) const;
  const std::map<std::string, AgentState>& agents() const { return agents_; }
  size_t queue_depth() const;
  size_t running_jobs() const;
  void forget_run(int64_t run_id);  // after the owner stored its end

 private:
  void apply(RunState& run, const std::vector<RunAction>& actions, int64_t now);
  void dispatch_leaf(RunState& run, int node, int64_t now);
  // True when the leaf waits at (or failed at) a gate instead of queueing.
  bool hold_at_gate(RunState& run, int node, int64_t now);
  // True (with the reason on the stage) while the clock keeps a queued
  // deploy to a gated environment from starting.
  bool deploy_held(RunState& run, int node, int64_t now);
  int node_of(const RunState& run, const std::string& stage_id) const;
  void decide_when(RunState& run, int node, int64_t now);
  void stop_leaf(RunState& run, int node, const std::string& reason, int64_t now);
  void assign(Job& job, AgentState& agent, int64_t now);
  void end_attempt(Job& job, std::optional<pipelines::Result> result, const std::string& reason,
                   bool lost, int64_t now, bool inconclusive = false);
  // Deploy phases (scheduler_rollout.cpp).
  bool in_rollout(const RunState& run, int node) const;  // a deploy past its gates
  // A canary's current weight in percent (CANARY_WEIGHT); 0 for anything else.
  int canary_weight(const RunState& run, int node) const;
  std::string rollout_where(const RunState& run, int node) const;  // "25%" ("" if no canary)
  // Called once the gates are passed: true when the stage waits (a pause)
  // or ended instead of queueing its next job.
  bool hold_in_rollout(RunState& run, int node, int64_t now);
  void enter_phase(RunState& run, int node, CanaryPhase phase, int64_t now);
  void after_phase(RunState& run, int node, int64_t now);  // the phase went well
  void finish_rollout(RunState& run, int node, int64_t now);
  void begin_rollback(RunState& run, int node, const std::string& why, int64_t now);
  // A job of a deploy in its phases ended: true when the stage goes on
  // (next phase); false when it ends now with `result` and `reason`.
  bool rollout_next(RunState& run, int node, std::optional<pipelines::Result>& result,
                    std::string& reason, bool inconclusive, bool stopped, int64_t now);
  void tick_rollouts(int64_t now);
  void dispatch(int64_t now);
  void start_waiting_runs(int64_t now);
  bool label_matches(const std::string& label, const AgentState& agent) const;
  protocol::JobSpec make_spec(const RunState& run, const Job& job, std::string& error) const;
  std::map<std::string, std::string> environment_of(const RunState& run, int node,
                                                    std::map<std::string, std::string>* secrets,
                                                    std::string& error) const;

  SchedulerOptions options_;
  std::map<int64_t, std::unique_ptr<RunState>> runs_;
  std::deque<int64_t> waiting_runs_;  // disableConcurrentBuilds
  std::map<std::string, Job> jobs_;   // by job id
  std::map<std::string, AgentState> agents_;
  std::vector<Outgoing> outgoing_;
  std::vector<int64_t> finished_;
  std::set<int64_t> dirty_;
  std::vector<GateRequest> gate_requests_;
  std::map<std::pair<int64_t, std::string>, GateKind> at_gate_;  // run, stage id -> kind
  uint64_t next_seq_ = 1;
};

}  // namespace gantry::controller
