#include "scheduler/scheduler.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/groovy_eval.hpp"
#include "gantry/pipelines/run_parameters.hpp"
#include "gantry/pipelines/when_eval.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/rollout.hpp"

namespace gantry::controller {

using pipelines::Result;

Scheduler::Scheduler(SchedulerOptions options)
    : options_(std::move(options)), board_(options_), gates_(options_) {}

std::optional<std::string> Scheduler::submit(RunRecord record,
                                             const std::vector<StageRecord>& stages, int64_t now,
                                             const std::string& previous_result,
                                             std::optional<pipelines::Pipeline> parsed) {
  std::string error;
  auto state = RunState::create(std::move(record), stages, error, std::move(parsed));
  if (!state) return error;
  state->previous_result = pipelines::parse_result(previous_result);
  std::optional<RunLock> lock = run_lock_of(*state, error);
  if (!error.empty()) return error;
  int64_t id = state->run.id;
  RunState& run = *state;
  runs_[id] = std::move(state);
  dirty_.insert(id);
  if (lock) run_locks_[id] = std::move(*lock);
  if (lock && run.run.status != RunStatus::Queued && !run.finished()) {
    // Going before a restart: it held its lock, and takes it again (the table is not stored);
    // runs are recovered oldest first, so it normally gets it back.
    const LockTable::Answer a = locks_.acquire(run_lock_holder(id), id, run_locks_[id].want, now);
    if (!a.acquired)
      log::warn("scheduler", "run.lock_lost",
                {{"run", std::to_string(id)}, {"holder", a.holder}, {"error", a.error}});
  }
  if (run.run.status == RunStatus::Queued && run.disable_concurrent()) {
    for (const auto& [other_id, other] : runs_) {
      if (other_id != id && other->run.job_name == run.run.job_name &&
          other->run.status != RunStatus::Queued) {
        waiting_runs_.push_back(id);
        return std::nullopt;
      }
    }
  }
  if (run.run.status == RunStatus::Queued) {
    begin_run(run, now);
    return std::nullopt;
  }
  apply(run, run.start(now), now);
  return std::nullopt;
}

void Scheduler::start_waiting_runs(int64_t now) {
  for (auto it = waiting_runs_.begin(); it != waiting_runs_.end();) {
    auto r = runs_.find(*it);
    if (r == runs_.end()) {
      it = waiting_runs_.erase(it);
      continue;
    }
    bool blocked = false;
    for (const auto& [other_id, other] : runs_) {
      if (other_id != *it && other->run.job_name == r->second->run.job_name &&
          other->run.status != RunStatus::Queued && !other->finished())
        blocked = true;
    }
    if (blocked) {
      ++it;
      continue;
    }
    it = waiting_runs_.erase(it);
    begin_run(*r->second, now);
  }
}

const RunState* Scheduler::waiting_run(const std::string& job_name) const {
  for (int64_t id : waiting_runs_) {
    auto it = runs_.find(id);
    if (it != runs_.end() && it->second->run.job_name == job_name) return it->second.get();
  }
  return nullptr;
}

std::vector<int64_t> Scheduler::waiting_runs_of(const std::string& job_name) const {
  std::vector<int64_t> out;
  for (const auto& [id, state] : runs_) {
    const RunStatus s = state->run.status;
    if (state->run.job_name == job_name && (s == RunStatus::Queued || s == RunStatus::Waiting))
      out.push_back(id);
  }
  return out;
}

std::vector<std::pair<int64_t, int64_t>> Scheduler::unfinished_runs_of(
    const std::string& job_name) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& [id, state] : runs_) {
    if (state->run.job_name == job_name && !state->finished())
      out.emplace_back(id, state->run.number);
  }
  return out;
}

std::optional<std::string> Scheduler::replace_waiting(RunRecord record,
                                                      std::optional<pipelines::Pipeline> parsed) {
  if (std::find(waiting_runs_.begin(), waiting_runs_.end(), record.id) == waiting_runs_.end())
    return "run " + std::to_string(record.id) + " is not waiting";
  std::string error;
  auto state = RunState::create(std::move(record), {}, error, std::move(parsed));
  if (!state) return error;
  state->previous_result = runs_[state->run.id]->previous_result;
  std::optional<RunLock> lock = run_lock_of(*state, error);
  if (!error.empty()) return error;
  int64_t id = state->run.id;
  run_locks_.erase(id);
  if (lock) run_locks_[id] = std::move(*lock);
  runs_[id] = std::move(state);
  dirty_.insert(id);
  return std::nullopt;
}

bool Scheduler::cancel_run(int64_t run_id, const std::string& reason, int64_t now) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second->finished()) return false;
  RunState& run = *it->second;
  dirty_.insert(run_id);
  auto waiting = std::find(waiting_runs_.begin(), waiting_runs_.end(), run_id);
  if (waiting != waiting_runs_.end()) {
    // Never started: it ends here.
    waiting_runs_.erase(waiting);
    run.cancel(reason, now);
    apply(run, run.start(now), now);
    return true;
  }
  auto locked = std::find(lock_waiting_.begin(), lock_waiting_.end(), run_id);
  if (locked != lock_waiting_.end()) {
    // Never started either: its place in the lock's queue goes with it.
    lock_waiting_.erase(locked);
    locks_.release(run_lock_holder(run_id), now);
    run.cancel(reason, now);
    apply(run, run.start(now), now);
    start_lock_waiting_runs(now);
    return true;
  }
  apply(run, run.cancel(reason, now), now);
  return true;
}

void Scheduler::apply(RunState& run, const std::vector<RunAction>& actions, int64_t now) {
  dirty_.insert(run.run.id);
  for (const RunAction& a : actions) {
    if (a.kind == RunAction::Stop) {
      stop_leaf(run, a.node, a.reason, now);
    } else if (a.reason == "when") {
      decide_when(run, a.node, now);
    } else {
      dispatch_leaf(run, a.node, now);
    }
  }
  if (run.finished() &&
      std::find(finished_.begin(), finished_.end(), run.run.id) == finished_.end()) {
    finished_.push_back(run.run.id);
    log::info(
        "scheduler", "run.finished",
        {{"run", std::to_string(run.run.id)}, {"status", std::string(to_string(run.run.status))}});
    if (run_locks_.erase(run.run.id)) release_lock(run_lock_holder(run.run.id), now);
    start_waiting_runs(now);
  }
}

void Scheduler::decide_when(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  std::string error;
  pipelines::WhenContext ctx;
  ctx.eval.env = stage_environment(run, node, options_, nullptr, error);
  ctx.eval.params = pipelines::typed_parameters(run.pipeline, run.run.params);
  const pipelines::Result so_far = run.result();
  ctx.eval.current_result =
      so_far == pipelines::Result::Success ? "" : pipelines::result_name(so_far);
  // `expression { }` is Groovy: all of it, with the Jenkinsfile's methods and the run's variables.
  if (const auto& tree = run.groovy_tree()) {
    pipelines::EvalContext plain = ctx.eval;
    const std::string state = run.run.script_state;
    auto libs = run.library_files();
    ctx.eval.evaluator = [tree, plain, state, libs](const pipelines::Node& n) {
      return pipelines::groovy::evaluate_for_controller(tree, n, plain, state, libs.get());
    };
  }
  ctx.branch = ctx.eval.env["BRANCH_NAME"];
  ctx.tag = ctx.eval.env["TAG_NAME"];
  ctx.trigger = run.run.trigger;
  for (const ChangeRecord& c : run.run.changes)
    ctx.changes.push_back({c.message, c.author, c.paths});
  std::vector<RunAction> out;
  if (!error.empty()) {
    run.fail_node(node, error, now, out);
  } else {
    pipelines::WhenOutcome w = pipelines::evaluate_when(*n.when, ctx);
    if (w.error) {
      run.fail_node(node, w.reason, now, out);
    } else {
      run.when_decided(node, w.run, w.reason, now, out);
    }
  }
  apply(run, out, now);
}

void Scheduler::dispatch_leaf(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  StageRecord& rec = run.record_of(node);
  if (n.kind == NodeKind::PipelinePost) {
    Result current = run.result();
    bool any = false;
    for (const auto& p : run.pipeline.post) {
      any = any || pipelines::post_applies(p.condition, current, run.previous_result);
    }
    if (!any) {
      apply(run, run.leaf_done(node, std::nullopt, "no post condition applies", now), now);
      return;
    }
  }
  if (board_.find(rec.job_id)) return;
  const bool orphan = rec.status == RunStatus::Running && rec.epoch > 0;
  if (!orphan && n.kind == NodeKind::Stage && !run.run.restart_stage.empty()) {
    if (std::string why = run.restarted_past(node); !why.empty()) {
      apply(run, run.leaf_done(node, std::nullopt, why, now), now);
      return;
    }
  }
  if (!orphan && n.kind == NodeKind::Stage && n.stage && options_.skip_stage) {
    if (std::string why = options_.skip_stage(*n.stage, rec.stage_id); !why.empty()) {
      apply(run, run.leaf_done(node, std::nullopt, why, now), now);
      return;
    }
  }
  if (!orphan) {
    std::string why;
    switch (gates_.hold(run, node, now, why)) {
      case GateDesk::Hold::Refused:
        apply(run, run.leaf_done(node, Result::Failure, why, now), now);
        return;
      case GateDesk::Hold::Waiting:
        dirty_.insert(run.run.id);
        return;
      case GateDesk::Hold::Passed:
        break;
    }
    switch (hold_in_rollout(run, node, now, options_.auto_promote)) {
      case RolloutHold::Waiting:
        dirty_.insert(run.run.id);
        return;
      case RolloutHold::Moved:
        dirty_.insert(run.run.id);
        dispatch_leaf(run, node, now);
        return;
      case RolloutHold::Done: {
        const Rollout& r = run.record_of(node).rollout;
        std::optional<Result> result = pipelines::parse_result(r.result);
        apply(run, run.leaf_done(node, result.value_or(Result::Failure), r.reason, now), now);
        return;
      }
      case RolloutHold::Queue:
        break;
    }
  }
  Job job;
  job.job_id = rec.job_id;
  job.run_id = run.run.id;
  job.node = node;
  job.epoch = rec.epoch;
  if (orphan) {
    // Running on some agent before a restart: wait for it to say hello.
    job.attempt = std::max(1, rec.attempts);
    job.orphan = true;
    job.accepted = true;
    job.lease_until = now + options_.lease_ttl_ms + options_.reconnect_grace_ms;
    if (run.run.cancel_requested && rec.rollout.phase != CanaryPhase::Rollback) {
      job.stopping = true;
      job.stop_reason = run.run.reason;
      job.stop_deadline = job.lease_until;
    }
  } else {
    job.attempt = rec.attempts + 1;
  }
  board_.enqueue(std::move(job));
}

void Scheduler::stop_leaf(RunState& run, int node, const std::string& reason, int64_t now) {
  const std::string& job_id = run.record_of(node).job_id;
  // A deploy rolling back finishes that; a canary stopped at a pause or
  // between phases rolls back what it deployed.
  const bool rollout = in_rollout(run, node);
  if (rollout && run.record_of(node).rollout.phase == CanaryPhase::Rollback) return;
  gates_.withdraw(run.run.id, run.record_of(node).stage_id, reason);
  Job* job = board_.find(job_id);
  if (job && job->queued()) {
    board_.remove(job_id);
    job = nullptr;
  }
  if (!job) {
    std::optional<Result> result = Result::Aborted;
    std::string why = reason;
    if (rollout && rollout_next(run, node, result, why, false, true, now)) {
      dirty_.insert(run.run.id);
      dispatch_leaf(run, node, now);
      return;
    }
    apply(run, run.leaf_done(node, result, why, now), now);
    return;
  }
  board_.stop(*job, reason, now);
}

namespace {

constexpr size_t kMaxAttemptNames = 1000;  // a canary of many weights, each tried a few times

// The queue's part of a queued stage's reason ("waiting for an agent ...", "waiting for a free
// executor ..."), after whatever else it says (a retry's "attempt 1: ... retrying"); cut off when
// the stage leaves the queue or the queue's story changes.
std::string without_queue_reason(const std::string& reason) {
  for (const char* mark : {"waiting for an agent", "waiting for a free executor", "waiting for pod",
                           "waiting for a pod"}) {
    const size_t at = reason.find(mark);
    if (at == 0) return {};
    if (at != std::string::npos && at >= 2 && reason.compare(at - 2, 2, "; ") == 0)
      return reason.substr(0, at - 2);
  }
  return reason;
}

}  // namespace

std::string Scheduler::label_of(RunState& run, int node, std::string& error) {
  std::string label = stage_label(run, node, error);
  // A tool the agent lacks keeps the job from it, as a label would (SPEC §4).
  const std::vector<std::string> tools = required_tools(run, node, options_);
  return tools.empty() ? label : with_tools(label, tools);
}

std::string Scheduler::stage_label(RunState& run, int node, std::string& error) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  const pipelines::Agent* agent = run.label_agent(node);
  if (!agent || !agent->label_expr || pipelines::agent_label(*agent) != n.label) return n.label;
  if (auto it = run.resolved_labels.find(node); it != run.resolved_labels.end()) return it->second;
  // `label params.NODE`, `label "${PLATFORM}"`: Groovy, with the stage's environment and axes.
  pipelines::EvalResult r = evaluate_at_stage(run, node, options_, *agent->label_expr);
  if (auto* e = std::get_if<pipelines::EvalError>(&r)) {
    error = "agent label (" + std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) +
            "): " + e->message;
    return n.label;
  }
  std::string label = std::get<pipelines::Value>(r).to_string();
  if (std::get<pipelines::Value>(r).is_null()) label.clear();
  label = pipelines::agent_label(agent->kind, label);  // a docker agent's: and the capability
  run.resolved_labels[node] = label;
  return label;
}

void Scheduler::dispatch(int64_t now) {
  // Why each job still queued waits, said on its stage (once per label and repository per pass),
  // with its place among those waiting for the same agents while that is short to say.
  std::map<std::pair<std::string, std::string>, std::pair<std::string, int>> waiting;
  // By id: assigning one job can end or stop others (a failed spec fails
  // the stage, failFast stops its siblings).
  for (const std::string& id : board_.queued()) {
    Job* job = board_.find(id);
    if (!job || !job->queued()) continue;
    RunState* run = stored_run(job->run_id);
    if (!run) continue;
    const ExecNode& n = run->nodes[static_cast<size_t>(job->node)];
    const bool held = gates_.deploy_held(*run, job->node, now);
    if (!run->dirty_stages.empty()) dirty_.insert(run->run.id);  // a hold began, changed or ended
    if (held) continue;
    std::string label_error, pod_reason;
    const std::string pod = pod_for(*run, *job, pod_reason, label_error);
    const std::string label = pod.empty() ? label_of(*run, job->node, label_error) : pod;
    if (!label_error.empty()) {
      end_attempt(job->job_id, pipelines::Result::Failure, label_error, false, now);
      continue;
    }
    AgentState* agent = board_.free_agent(
        label, n.uses_top_agent && pod.empty() ? run->preferred_agent : std::string(),
        run->run.repo_name, now);
    if (agent) {
      assign(*job, *agent, now);
      continue;
    }
    std::string reason = pod_reason;
    if (pod.empty()) {
      auto& [why, ahead] = waiting[{label, run->run.repo_name}];
      if (why.empty()) why = board_.why_no_agent(label, run->run.repo_name);
      reason = why;
      if (ahead > 0)
        reason += ahead < 20 ? "; " + std::to_string(ahead) + " job(s) ahead in the queue"
                             : "; 20+ jobs ahead in the queue";
      ++ahead;
    }
    StageRecord& rec = run->record_of(job->node);
    const std::string base = without_queue_reason(rec.reason);
    if (!base.empty()) reason = base + "; " + reason;
    if (rec.reason != reason) {
      rec.reason = std::move(reason);
      run->dirty_stages.insert(n.record);
      dirty_.insert(run->run.id);
    }
  }
}

void Scheduler::assign(Job& job, AgentState& agent, int64_t now) {
  RunState& run = *runs_.at(job.run_id);
  StageRecord& rec = run.record_of(job.node);
  std::string error;
  // A new term starts its epochs above every epoch of the terms before it.
  const uint64_t term_floor = static_cast<uint64_t>(options_.term) << 32;
  board_.hand_out(job, agent, std::max(rec.epoch + 1, term_floor + 1), now);
  protocol::JobSpec spec = job_spec(run, job, options_, error);
  // Jenkins' NODE_NAME and NODE_LABELS: the agent the job was handed to.
  spec.env["NODE_NAME"] = agent.name;
  std::string labels;
  for (const std::string& l : agent.labels) labels += (labels.empty() ? "" : " ") + l;
  spec.env["NODE_LABELS"] = labels;
  add_lock_env(run, spec.env);
  rec.epoch = job.epoch;
  rec.attempts = job.attempt;
  if (in_rollout(run, job.node)) {
    ++rec.rollout.tries;
    // Attempts are numbered from 1; a phase adopted after a restart keeps its name.
    const size_t at = static_cast<size_t>(std::max(1, job.attempt)) - 1;
    if (at < kMaxAttemptNames) {
      if (rec.attempt_names.size() <= at) rec.attempt_names.resize(at + 1);
      rec.attempt_names[at] = phase_name(run, job.node);
    }
  }
  rec.agent = agent.name;
  rec.reason = without_queue_reason(rec.reason);  // why it waited for an agent
  run.mark(job.node, RunStatus::Running, now);
  // Stored before the assignment leaves (write-ahead): a restarted
  // controller must know the job runs, at this epoch.
  dirty_.insert(run.run.id);
  if (run.nodes[static_cast<size_t>(job.node)].uses_top_agent && run.preferred_agent.empty())
    run.preferred_agent = agent.name;
  if (!error.empty()) {
    end_attempt(job.job_id, Result::Failure, error, false, now);
    return;
  }
  log::info("scheduler", "job.assigned",
            {{"run", std::to_string(job.run_id)},
             {"stage", rec.stage_id},
             {"agent", agent.name},
             {"epoch", std::to_string(job.epoch)}});
  board_.send(agent.agent_id, protocol::Assign{job.job_id, job.epoch, std::move(spec)});
}

void Scheduler::end_attempt(const std::string& job_id, std::optional<Result> result,
                            const std::string& reason, bool lost, int64_t now, bool inconclusive) {
  // `job_id` may be the removed job's own string (callers pass job.job_id): only `job` after this.
  std::optional<Job> taken = board_.remove(job_id);
  if (!taken) return;
  const Job& job = *taken;
  // What its lock steps held goes with the attempt (a retry asks again).
  locks_.release_job(job.job_id, now);
  start_lock_waiting_runs(now);
  RunState* found = stored_run(job.run_id);
  if (!found) return;
  RunState& run = *found;
  StageRecord& rec = run.record_of(job.node);
  dirty_.insert(run.run.id);  // a retry changes the record without apply()
  // A deploy in phases counts the attempts of its current phase.
  const bool rollout = in_rollout(run, job.node);
  const int tries = rollout ? rec.rollout.tries : job.attempt;
  bool retriable = (lost || result == Result::Failure) && !job.stopping &&
                   (!run.run.cancel_requested || rec.rollout.phase == CanaryPhase::Rollback) &&
                   tries < run.retries_of(job.node);
  if (retriable) {
    rec.reason = "attempt " + std::to_string(job.attempt) + ": " + reason + "; retrying";
    run.mark(job.node, RunStatus::Queued, now);
    Job next;
    next.job_id = job.job_id;
    next.run_id = job.run_id;
    next.node = job.node;
    next.epoch = rec.epoch;
    next.attempt = job.attempt + 1;
    board_.enqueue(std::move(next));
    log::info("scheduler", "job.retry",
              {{"run", std::to_string(job.run_id)},
               {"stage", rec.stage_id},
               {"attempt", std::to_string(job.attempt + 1)}});
    return;
  }
  if (job.stopping && result != Result::Failure) result = Result::Aborted;
  std::string why = reason;
  if (job.stopping && why.empty()) why = job.stop_reason;
  if (rollout && rollout_next(run, job.node, result, why, inconclusive, job.stopping, now)) {
    dispatch_leaf(run, job.node, now);
    return;
  }
  apply(run, run.leaf_done(job.node, result, why, now), now);
}

std::vector<RunState*> Scheduler::take_dirty_runs() {
  std::vector<RunState*> out;
  for (int64_t id : dirty_) {
    auto it = runs_.find(id);
    if (it == runs_.end()) continue;
    RunState& run = *it->second;
    // `waiting` while a gate holds the run and nothing of it runs or queues.
    if (!run.finished() &&
        (run.run.status == RunStatus::Running || run.run.status == RunStatus::Waiting)) {
      bool gated = false, busy = false;
      for (size_t i = 1; i < run.nodes.size(); ++i) {
        if (run.nodes[i].kind != NodeKind::Stage && run.nodes[i].kind != NodeKind::PipelinePost)
          continue;
        const RunStatus st = run.record_of(static_cast<int>(i)).status;
        gated = gated || st == RunStatus::Waiting;
        busy = busy || st == RunStatus::Running || st == RunStatus::Queued;
      }
      const RunStatus status = gated && !busy ? RunStatus::Waiting : RunStatus::Running;
      if (status != run.run.status) {
        run.run.status = status;
        run.dirty_run = true;
      }
    }
    out.push_back(&run);
  }
  dirty_.clear();
  return out;
}

std::vector<int64_t> Scheduler::take_finished_runs() {
  return std::exchange(finished_, {});
}

RunState* Scheduler::stored_run(int64_t run_id) {
  auto it = runs_.find(run_id);
  return it == runs_.end() ? nullptr : it->second.get();
}

const RunState* Scheduler::run(int64_t run_id) const {
  auto it = runs_.find(run_id);
  return it == runs_.end() ? nullptr : it->second.get();
}

void Scheduler::forget_run(int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end() && it->second->finished()) runs_.erase(it);
}

}  // namespace gantry::controller
