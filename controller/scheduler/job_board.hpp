#pragma once
// The agent-facing half of the scheduler: connected agents with their
// executors, the jobs (queued or handed out, each with its epoch and lease)
// and the messages owed to agents. It knows nothing of runs or stages: the
// Scheduler puts jobs on the board, asks it for a free agent, and decides
// what an ended or lost job means for its run.
//
// Pure and synchronous: no I/O, no clock (`now` is passed in, unix ms). Not
// thread-safe. Owned by the Scheduler, which shares its options.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gantry/pipelines/model.hpp"
#include "gantry/protocol/messages.hpp"
#include "scheduler/secret_scope.hpp"

namespace gantry::controller {

struct SchedulerOptions {
  int64_t lease_ttl_ms = 30000;  // agent_lost_after
  // The leader's term when controllers share PostgreSQL (docs/ha.md), 0 on SQLite: it goes into
  // the high 32 bits of every epoch handed out, and into the welcome, so agents refuse a deposed
  // leader as they refuse a stale agent.
  int64_t term = 0;
  int64_t heartbeat_ms = 2000;
  int64_t accept_timeout_ms = 5000;
  int64_t reconnect_grace_ms = 15000;  // added to leases adopted after a restart
  int64_t cancel_grace_ms = 10000;
  std::map<std::string, std::string> secrets;  // credentials id -> value
  // Which jobs each secret may reach (none listed: no scope).
  std::map<std::string, SecretScope> secret_scopes;
  // Agent pools (agent token names) that take jobs of these configured repositories only
  // (`agent_tokens: [{..., repositories: [app]}]`); a pool not named here takes any job.
  std::map<std::string, std::set<std::string>> pool_repositories;
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
  // `gantry run`: its one agent takes every job, whatever label the stage asks for (the user
  // is told what was ignored).
  bool any_label = false;
  // `gantry run --stage/--until`, and deploys without --with-deploys: a reason leaves the
  // stage out (skipped, with that reason) when its turn comes; "" runs it.
  std::function<std::string(const pipelines::Stage& stage, const std::string& stage_id)> skip_stage;
  // The controller's address as users reach it (`url:`, else from `listen:`), without a
  // trailing slash: BUILD_URL and GANTRY_URL. Empty: not set.
  std::string public_url;
  // `kubernetes.max_pods` (docs/containers.md): with a cluster, each job of a kubernetes agent
  // gets a pod of its own, at most this many at once; 0: no cluster (an agent with a container
  // engine runs the pod's containers).
  int64_t max_pods = 0;
  // Private repositories (docs/forges.md): the secret each configured repository's checkout
  // uses, by repository name, and how its host is checked. Given with the job for the checkout
  // alone; a step never sees them.
  std::map<std::string, std::string> repository_credentials;
  std::string git_known_hosts, git_ca_pem;
};

// The label a pod's agent carries (beside its name, the pod's): it takes only the job it was
// made for, never one whose label it happens to match (`agent any`).
inline constexpr const char* kPodAgentLabel = "gantry-pod";

// A pod to create for a queued job (scheduler_pods.cpp); the service makes it in the cluster.
struct PodRequest {
  std::string pod;  // its name, which is also its agent's name and the job's label
  std::string job_id, stage_id;
  int64_t run_id = 0;
  std::string yaml;               // the stage's pod spec, as evaluated
  std::string default_container;  // defaultContainer, or "" for the first container
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

  bool queued() const { return agent_id.empty() && !orphan; }
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

class JobBoard {
 public:
  explicit JobBoard(const SchedulerOptions& options) : options_(options) {}

  // An agent's hello. The jobs it resumes keep running (their lease
  // renewed). Of the jobs it held and no longer mentions, `resend` were
  // never accepted (the assignment is owed again) and `lost` died with its
  // previous instance.
  struct Hello {
    protocol::Welcome welcome;
    std::vector<std::string> resend, lost;
  };
  Hello hello(const protocol::Hello& hello, const std::string& token_name, int64_t now);
  void disconnected(const std::string& agent_id, int64_t now);
  void heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb, int64_t now);
  // Whether the agent holds this job at this epoch (log chunks, step events, finishes).
  std::optional<protocol::Nack> check(const std::string& agent_id, const std::string& job_id,
                                      uint64_t epoch) const;
  std::optional<protocol::Nack> accept(const std::string& agent_id, const protocol::Accept& a,
                                       int64_t now);

  // Puts a job at the back of the queue (or, an orphan, on the board to
  // wait for its agent).
  Job& enqueue(Job job);
  Job* find(const std::string& job_id);
  const Job* job(const std::string& job_id) const;
  // Takes the job off the board and off its agent.
  std::optional<Job> remove(const std::string& job_id);
  // Asks the job's agent to stop it (now, or when it is back), with a deadline.
  void stop(Job& job, const std::string& reason, int64_t now);
  // The ids of queued jobs, oldest first.
  std::vector<std::string> queued() const;
  // The connected, heartbeating agent with a free executor whose labels
  // match `label`: `preferred` when it qualifies, else the least busy.
  // Why no agent takes a job with this label (of this repository) now, for a queued stage's
  // reason: no agent connected, none with the label (naming the connected ones), or all of those
  // busy. Read-only.
  std::string why_no_agent(const std::string& label, const std::string& repo) const;
  AgentState* free_agent(const std::string& label, const std::string& preferred,
                         const std::string& repo, int64_t now);
  // Hands the job to the agent at `epoch`; its lease starts now.
  void hand_out(Job& job, AgentState& agent, uint64_t epoch, int64_t now);
  // Jobs whose stop deadline passed (`forced`) or whose lease lapsed
  // (`lost`); an assignment never accepted in time goes back to the queue.
  struct Expired {
    std::vector<std::string> forced, lost;
  };
  Expired expire(int64_t now);

  void send(const std::string& agent_id, protocol::ControllerMessage message);
  std::vector<Outgoing> take_outgoing();

  const std::map<std::string, AgentState>& agents() const { return agents_; }
  size_t queue_depth() const;
  size_t running_jobs() const { return jobs_.size() - queue_depth(); }

 private:
  const SchedulerOptions& options_;
  std::map<std::string, Job> jobs_;  // by job id
  std::map<std::string, AgentState> agents_;
  std::vector<Outgoing> outgoing_;
  uint64_t next_seq_ = 1;
};

}  // namespace gantry::controller
