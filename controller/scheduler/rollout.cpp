// A deploy stage's phases (docs/releases.md). A direct deploy is one job
// (its steps, then its post). A canary runs, for each weight, its steps
// (JobSpec.mode "canary", CANARY_WEIGHT set), its pause (a timed wait or a
// wait for `gantry promote`, holding no agent), and its analysis (mode
// "analysis"); a failed analysis counts against failureLimit, and past it,
// or when its steps fail, when it is aborted or its run cancelled, the
// deploy's rollback steps run (mode "rollback"). Its post blocks run last,
// as a job of their own (mode "post"). Each phase is an attempt of the same
// stage, with its own log. The phase lives in the stage record
// (StageRecord::rollout), changed before the next job is handed out, so a
// restarted controller resumes the canary at the same weight and phase.
#include "scheduler/rollout.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/common/time_zone.hpp"

namespace gantry::controller {

using pipelines::Result;

namespace {

const pipelines::Deploy* deploy_of(const ExecNode& n) {
  return n.kind == NodeKind::Stage && n.stage && n.stage->deploy ? &*n.stage->deploy : nullptr;
}

const pipelines::Canary* canary_of(const ExecNode& n) {
  const pipelines::Deploy* d = deploy_of(n);
  return d && d->canary && !d->canary->weights.empty() ? &*d->canary : nullptr;
}

void enter_phase(RunState& run, int node, CanaryPhase phase, int64_t now);
void finish_rollout(RunState& run, int node, int64_t now);

}  // namespace

bool in_rollout(const RunState& run, int node) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  return deploy_of(n) && run.run.rollback_of == 0 &&
         run.record_of(node).rollout.phase != CanaryPhase::None;
}

int canary_weight(const RunState& run, int node) {
  const pipelines::Canary* c = canary_of(run.nodes[static_cast<size_t>(node)]);
  const Rollout& r = run.record_of(node).rollout;
  if (!c || r.phase == CanaryPhase::None) return 0;
  size_t w = std::min(static_cast<size_t>(std::max(r.weight, 0)), c->weights.size() - 1);
  return c->weights[w];
}

std::string rollout_where(const RunState& run, int node) {
  int weight = canary_weight(run, node);
  return weight > 0 ? std::to_string(weight) + "%" : "";
}

std::string phase_name(const RunState& run, int node) {
  const Rollout& r = run.record_of(node).rollout;
  const std::string where = rollout_where(run, node);
  std::string name;
  switch (r.phase) {
    case CanaryPhase::Steps:
      name = where.empty() ? "deploy" : "deploy " + where;
      break;
    case CanaryPhase::Analysis:
    case CanaryPhase::Inconclusive:
      name = "analysis " + where;
      break;
    case CanaryPhase::Rollback:
      name = "rollback";
      break;
    case CanaryPhase::Post:
      name = "post";
      break;
    default:
      name = std::string(to_string(r.phase));
  }
  if (r.tries > 1) name += " (try " + std::to_string(r.tries) + ")";
  return name;
}

RolloutHold hold_in_rollout(RunState& run, int node, int64_t now, bool auto_promote) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  if (!deploy_of(n) || run.run.rollback_of != 0)
    return RolloutHold::Queue;  // a rollback run: one job
  StageRecord& rec = run.record_of(node);
  Rollout& r = rec.rollout;
  if (r.phase == CanaryPhase::None) {
    r.phase = CanaryPhase::Steps;
    run.dirty_stages.insert(n.record);
  }
  const std::string release = rec.gate_values.count("RELEASE_ID") ? rec.gate_values.at("RELEASE_ID")
                                                                  : std::string("the release");
  if (r.phase == CanaryPhase::Pause && r.until <= now) {
    after_phase(run, node, now);  // the pause is over (while the controller was down, too)
    return RolloutHold::Moved;
  }
  if ((r.phase == CanaryPhase::Promote || r.phase == CanaryPhase::Inconclusive) && auto_promote) {
    log::warn("scheduler", "rollout.promoted_locally", {{"stage", rec.stage_id}});
    if (r.phase == CanaryPhase::Inconclusive) r.phase = CanaryPhase::Analysis;
    after_phase(run, node, now);
    return RolloutHold::Moved;
  }
  std::string why;
  if (r.phase == CanaryPhase::Pause) {
    why =
        "canary at " + rollout_where(run, node) + ": pause until " + utc_text(r.until, "%H:%M:%SZ");
  } else if (r.phase == CanaryPhase::Promote) {
    why =
        "canary at " + rollout_where(run, node) + ": paused, waiting for gantry promote " + release;
  } else if (r.phase == CanaryPhase::Inconclusive) {
    why = r.reason + "; waiting for gantry promote " + release + " (or gantry abort)";
  } else if (r.phase == CanaryPhase::Done) {
    return RolloutHold::Done;
  } else {
    return RolloutHold::Queue;  // a job phase
  }
  if (rec.status != RunStatus::Waiting || rec.reason != why)
    run.mark(node, RunStatus::Waiting, now, why);
  return RolloutHold::Waiting;
}

void after_phase(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  const pipelines::Canary* c = canary_of(n);
  Rollout& r = run.record_of(node).rollout;
  if (!c) {
    finish_rollout(run, node, now);
    return;
  }
  const bool pauses = c->manual_pause || c->pause_seconds.has_value();
  if (r.phase == CanaryPhase::Steps && pauses) {
    r.until = c->manual_pause ? 0 : now + *c->pause_seconds * 1000;
    enter_phase(run, node, c->manual_pause ? CanaryPhase::Promote : CanaryPhase::Pause, now);
    return;
  }
  if ((r.phase == CanaryPhase::Steps || r.phase == CanaryPhase::Pause ||
       r.phase == CanaryPhase::Promote) &&
      !c->analysis.empty()) {
    enter_phase(run, node, CanaryPhase::Analysis, now);
    return;
  }
  // The weight is done (its analysis passed, or was tolerated or promoted).
  if (static_cast<size_t>(r.weight) + 1 < c->weights.size()) {
    ++r.weight;
    enter_phase(run, node, CanaryPhase::Steps, now);
    return;
  }
  if (r.result.empty()) r.result = "SUCCESS";
  r.outcome = ReleaseStatus::Succeeded;
  finish_rollout(run, node, now);
}

void begin_rollback(RunState& run, int node, const std::string& why, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  Rollout& r = run.record_of(node).rollout;
  r.abort = why;
  r.result = "FAILURE";
  log::warn("scheduler", "rollout.abort",
            {{"run", std::to_string(run.run.id)},
             {"stage", run.record_of(node).stage_id},
             {"reason", why}});
  // Before its first job was handed out nothing was deployed.
  const bool deployed = !(r.phase == CanaryPhase::Steps && r.weight == 0 && r.tries == 0);
  if (!deployed || deploy_of(n)->rollback.empty()) {
    r.reason = why + (deployed ? " (the deploy has no rollback steps)" : " (nothing was deployed)");
    r.outcome = ReleaseStatus::Failed;
    finish_rollout(run, node, now);
    return;
  }
  enter_phase(run, node, CanaryPhase::Rollback, now);
}

bool rollout_next(RunState& run, int node, std::optional<Result>& result, std::string& reason,
                  bool inconclusive, bool stopped, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  const pipelines::Canary* c = canary_of(n);
  Rollout& r = run.record_of(node).rollout;
  const bool ok = result == Result::Success || result == Result::Unstable;
  const CanaryPhase phase = r.phase;
  if (phase == CanaryPhase::Post) {
    // The stage ends as the canary did, made worse by a failing post.
    Result decided = pipelines::parse_result(r.result).value_or(Result::Failure);
    if (!ok) {
      r.reason = r.reason.empty() ? reason : r.reason + "; " + reason;
      decided = pipelines::worse(decided, result.value_or(Result::Failure));
    }
    r.result = pipelines::result_name(decided);
    enter_phase(run, node, CanaryPhase::Done, now);
    return true;
  }
  if (phase == CanaryPhase::Rollback) {
    r.outcome = ok ? ReleaseStatus::RolledBack : ReleaseStatus::Failed;
    r.reason = r.abort + (ok ? "; rolled back" : "; the rollback failed: " + reason);
    finish_rollout(run, node, now);
    return true;
  }
  if (!r.abort.empty()) {  // gantry abort, while a job of it ran
    begin_rollback(run, node, r.abort, now);
    return true;
  }
  if (!c) {
    // A direct deploy ends with its job, as any stage.
    r.outcome = ok ? ReleaseStatus::Succeeded : ReleaseStatus::Failed;
    return false;
  }
  const std::string where = rollout_where(run, node);
  if (stopped) {
    begin_rollback(run, node, (reason.empty() ? std::string("stopped") : reason) + " at " + where,
                   now);
    return true;
  }
  if (result == Result::Unstable) r.result = "UNSTABLE";
  if (phase == CanaryPhase::Steps && !ok) {
    begin_rollback(run, node, "the deploy steps failed at " + where + ": " + reason, now);
    return true;
  }
  if (phase == CanaryPhase::Analysis && !ok) {
    if (inconclusive && c->inconclusive_pause) {
      r.reason = "analysis inconclusive at " + where + ": " + reason;
      enter_phase(run, node, CanaryPhase::Inconclusive, now);
      return true;
    }
    ++r.failures;
    std::string what = "analysis failed at " + where + ": " + reason;
    if (r.failures > c->failure_limit) {
      begin_rollback(run, node, what, now);
      return true;
    }
    r.reason = what + " (" + std::to_string(r.failures) + " of failureLimit " +
               std::to_string(c->failure_limit) + " tolerated)";
  }
  after_phase(run, node, now);
  return true;
}

std::vector<int> pauses_over(const RunState& run, int64_t now) {
  std::vector<int> out;
  if (run.finished()) return out;
  for (size_t i = 1; i < run.nodes.size(); ++i) {
    int node = static_cast<int>(i);
    if (run.nodes[i].kind != NodeKind::Stage || !in_rollout(run, node)) continue;
    const StageRecord& rec = run.record_of(node);
    if (rec.rollout.phase == CanaryPhase::Pause && rec.status == RunStatus::Waiting &&
        rec.rollout.until <= now)
      out.push_back(node);
  }
  return out;
}

std::string promote_refusal(const RunState& run, int node) {
  if (node < 0 || !in_rollout(run, node)) return "its deploy has not started";
  const Rollout& r = run.record_of(node).rollout;
  if (r.phase == CanaryPhase::Pause || r.phase == CanaryPhase::Promote ||
      r.phase == CanaryPhase::Inconclusive)
    return "";
  return "it is not paused (" +
         (canary_of(run.nodes[static_cast<size_t>(node)])
              ? "canary at " + rollout_where(run, node) + ": " + std::string(to_string(r.phase))
              : std::string("it is not a canary")) +
         ")";
}

std::string abort_refusal(const RunState& run, int node) {
  if (node < 0 || !in_rollout(run, node)) return "its deploy has not started";
  const Rollout& r = run.record_of(node).rollout;
  if (r.phase == CanaryPhase::Rollback) return "it is being rolled back already";
  if (r.phase == CanaryPhase::Post || r.phase == CanaryPhase::Done || !r.abort.empty())
    return "it has ended (" + std::string(r.outcome ? to_string(*r.outcome) : to_string(r.phase)) +
           ")";
  return "";
}

namespace {

void enter_phase(RunState& run, int node, CanaryPhase phase, int64_t now) {
  StageRecord& rec = run.record_of(node);
  rec.rollout.phase = phase;
  rec.rollout.tries = 0;
  run.dirty_stages.insert(run.nodes[static_cast<size_t>(node)].record);
  log::info("scheduler", "rollout.phase",
            {{"run", std::to_string(run.run.id)},
             {"stage", rec.stage_id},
             {"phase", std::string(to_string(phase))},
             {"weight", rollout_where(run, node)}});
  // Never left "running" with no job: the scheduler would take it for a
  // job adopted after a restart.
  std::string where = rollout_where(run, node);
  std::string reason = phase == CanaryPhase::Rollback ? "rolling back: " + rec.rollout.abort
                       : phase == CanaryPhase::Post   ? "post"
                       : where.empty()
                           ? ""
                           : "canary at " + where + ": " + std::string(to_string(phase));
  // A tolerated failed analysis stays in sight.
  if (phase != CanaryPhase::Rollback && !rec.rollout.reason.empty())
    reason += "; " + rec.rollout.reason;
  run.mark(node, RunStatus::Queued, now, is_job_phase(phase) ? reason : "");
}

void finish_rollout(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  Rollout& r = run.record_of(node).rollout;
  if (r.result.empty()) r.result = "SUCCESS";
  if (!r.outcome)
    r.outcome = r.result == "SUCCESS" || r.result == "UNSTABLE" ? ReleaseStatus::Succeeded
                                                                : ReleaseStatus::Failed;
  // A canary's post blocks run last, judged on how it ended; a direct
  // deploy's ran in its one job.
  bool post = canary_of(n) && !n.stage->post.empty() && r.phase != CanaryPhase::Post;
  enter_phase(run, node, post ? CanaryPhase::Post : CanaryPhase::Done, now);
}

}  // namespace

}  // namespace gantry::controller
