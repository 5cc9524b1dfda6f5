#pragma once
// Gates (SPEC §7): a leaf stage that deploys to an environment with a GMUD
// policy, or has an `input`, waits (status `waiting`, no job, no agent)
// until the service opens or fails its gate; every deploy then waits for its
// release record. The desk knows which stage waits at which gate and
// queues the requests the service must open (GateRequest), or cancel when a
// waiting stage stops. It also holds back a queued deploy to a gated
// environment while a freeze or the windows forbid it.
//
// Pure and synchronous; `now` is unix ms. Not thread-safe. Owned by the
// Scheduler, whose options it shares.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "scheduler/job_board.hpp"
#include "scheduler/run_state.hpp"

namespace gantry::controller {

// A stage that must pass a gate before it may take an agent: a deploy to an
// environment with a GMUD policy (GateKind::Gmud), a Jenkins `input`
// (GateKind::Input), and, last, every deploy's release record
// (GateKind::Release, opened at once by the service with RELEASE_ID and
// PREVIOUS_RELEASE for the steps). The service opens (or finds) the change
// request and calls Scheduler::open_gate or fail_gate; meanwhile the stage
// waits, holding no agent. `cancel`: the stage stopped waiting (its run was
// cancelled, a sibling failed fast): the request should be cancelled.
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

class GateDesk {
 public:
  explicit GateDesk(const SchedulerOptions& options) : options_(options) {}

  enum class Hold {
    Passed,   // no gate left: the stage may queue
    Waiting,  // it waits at a gate (asked now, or before)
    Refused,  // `why`: it deploys to an environment the controller does not define
  };
  Hold hold(RunState& run, int node, int64_t now, std::string& why);
  // True (with the reason on the stage) while the clock keeps a queued
  // deploy to a gated environment from starting.
  bool deploy_held(RunState& run, int node, int64_t now) const;
  // Whether the stage waits at the gate of this kind.
  bool waits(int64_t run_id, const std::string& stage_id, GateKind kind) const;
  // The stage no longer waits (its gate opened or failed).
  void leave(int64_t run_id, const std::string& stage_id);
  // The stage stopped while waiting: its request is to be cancelled.
  void withdraw(int64_t run_id, const std::string& stage_id, const std::string& reason);
  std::vector<GateRequest> take_requests();

 private:
  const SchedulerOptions& options_;
  std::map<std::pair<int64_t, std::string>, GateKind> waiting_;  // run, stage id -> kind
  std::vector<GateRequest> requests_;
};

}  // namespace gantry::controller
