#pragma once
// A deploy stage's phases, as functions of the run's state (rollout.cpp has
// the model: steps, pause, analysis per canary weight; rollback; post).
// They change only the stage's record (StageRecord::rollout and its status)
// and never hand out a job: when one returns that the stage moved to
// another phase, the scheduler dispatches the stage again, which queues
// the phase's job, holds it at a pause, or ends it.
//
// Pure and synchronous; `now` is unix ms. Not thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/run_state.hpp"

namespace gantry::controller {

// A deploy past its gates, in its phases (not a rollback run's deploy).
bool in_rollout(const RunState& run, int node);
// A canary's current weight in percent (CANARY_WEIGHT); 0 for anything else.
int canary_weight(const RunState& run, int node);
// "25%" ("" if no canary).
std::string rollout_where(const RunState& run, int node);
// The name of the phase whose job is handed out now, for its attempt: "deploy 10%",
// "analysis 10%", "rollback", "post" ("deploy" for a direct deploy), with " (try N)" when
// the phase is tried again.
std::string phase_name(const RunState& run, int node);

// What a deploy stage that passed its gates does when dispatched.
enum class RolloutHold {
  Queue,    // not a deploy in phases, or a phase that is a job: queue it
  Waiting,  // a pause or a wait for `gantry promote` (the stage says which)
  Moved,    // its pause was over: it moved to the next phase (dispatch it again)
  Done,     // its phases are over: the stage ends with rollout.result and .reason
};
// `auto_promote`: pauses waiting for a human go on by themselves (`gantry run`).
RolloutHold hold_in_rollout(RunState& run, int node, int64_t now, bool auto_promote);
// The current phase went well: on to the next one.
void after_phase(RunState& run, int node, int64_t now);
// Rolls back what was deployed (or ends the deploy, when nothing was).
void begin_rollback(RunState& run, int node, const std::string& why, int64_t now);
// A job of a deploy in its phases ended: true when the stage moved to
// another phase; false when it ends now with `result` and `reason`.
bool rollout_next(RunState& run, int node, std::optional<pipelines::Result>& result,
                  std::string& reason, bool inconclusive, bool stopped, int64_t now);
// The stages whose timed pause is over.
std::vector<int> pauses_over(const RunState& run, int64_t now);
// Why `gantry promote` / `gantry abort` cannot act on this stage now ("": it can).
std::string promote_refusal(const RunState& run, int node);
std::string abort_refusal(const RunState& run, int node);

}  // namespace gantry::controller
