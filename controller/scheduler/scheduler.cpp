#include "scheduler/scheduler.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/label_expr.hpp"
#include "gantry/pipelines/when_eval.hpp"

namespace gantry::controller {

using pipelines::Result;

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {}

std::optional<std::string> Scheduler::submit(RunRecord record,
                                             const std::vector<StageRecord>& stages, int64_t now,
                                             const std::string& previous_result,
                                             std::optional<pipelines::Pipeline> parsed) {
  std::string error;
  auto state = RunState::create(std::move(record), stages, error, std::move(parsed));
  if (!state) return error;
  state->previous_result = pipelines::parse_result(previous_result);
  int64_t id = state->run.id;
  RunState& run = *state;
  runs_[id] = std::move(state);
  dirty_.insert(id);
  if (run.run.status == RunStatus::Queued && run.disable_concurrent()) {
    for (const auto& [other_id, other] : runs_) {
      if (other_id != id && other->run.job_name == run.run.job_name &&
          other->run.status != RunStatus::Queued) {
        waiting_runs_.push_back(id);
        return std::nullopt;
      }
    }
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
    apply(*r->second, r->second->start(now), now);
  }
}

const RunState* Scheduler::waiting_run(const std::string& job_name) const {
  for (int64_t id : waiting_runs_) {
    auto it = runs_.find(id);
    if (it != runs_.end() && it->second->run.job_name == job_name) return it->second.get();
  }
  return nullptr;
}

std::optional<std::string> Scheduler::replace_waiting(RunRecord record,
                                                      std::optional<pipelines::Pipeline> parsed) {
  if (std::find(waiting_runs_.begin(), waiting_runs_.end(), record.id) == waiting_runs_.end())
    return "run " + std::to_string(record.id) + " is not waiting";
  std::string error;
  auto state = RunState::create(std::move(record), {}, error, std::move(parsed));
  if (!state) return error;
  state->previous_result = runs_[state->run.id]->previous_result;
  int64_t id = state->run.id;
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
    start_waiting_runs(now);
  }
}

void Scheduler::decide_when(RunState& run, int node, int64_t now) {
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  std::string error;
  pipelines::WhenContext ctx;
  ctx.eval.env = environment_of(run, node, nullptr, error);
  for (const auto& [k, v] : run.run.params) ctx.eval.params[k] = pipelines::Value(v);
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
  if (jobs_.count(rec.job_id)) return;
  const bool orphan = rec.status == RunStatus::Running && rec.epoch > 0;
  if (!orphan && (hold_at_gate(run, node, now) || hold_in_rollout(run, node, now))) return;
  Job job;
  job.job_id = rec.job_id;
  job.run_id = run.run.id;
  job.node = node;
  job.epoch = rec.epoch;
  job.seq = next_seq_++;
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
  jobs_.emplace(job.job_id, std::move(job));
}

void Scheduler::stop_leaf(RunState& run, int node, const std::string& reason, int64_t now) {
  const std::string& job_id = run.record_of(node).job_id;
  // A deploy rolling back finishes that; a canary stopped at a pause or
  // between phases rolls back what it deployed.
  const bool rollout = in_rollout(run, node);
  if (rollout && run.record_of(node).rollout.phase == CanaryPhase::Rollback) return;
  if (at_gate_.erase({run.run.id, run.record_of(node).stage_id}) > 0) {
    GateRequest g;
    g.run_id = run.run.id;
    g.stage_id = run.record_of(node).stage_id;
    g.cancel = true;
    g.reason = reason;
    gate_requests_.push_back(std::move(g));
  }
  auto it = jobs_.find(job_id);
  if (it != jobs_.end() && it->second.agent_id.empty() && !it->second.orphan) {
    jobs_.erase(it);
    it = jobs_.end();
  }
  if (it == jobs_.end()) {
    std::optional<Result> result = Result::Aborted;
    std::string why = reason;
    if (rollout && rollout_next(run, node, result, why, false, true, now)) return;
    apply(run, run.leaf_done(node, result, why, now), now);
    return;
  }
  Job& job = it->second;
  if (job.stopping) return;
  job.stopping = true;
  job.stop_reason = reason;
  job.stop_deadline = now + options_.cancel_grace_ms + 5000 + options_.lease_ttl_ms;
  auto agent = agents_.find(job.agent_id);
  if (agent != agents_.end() && agent->second.connected) {
    protocol::Cancel c{job.job_id, job.epoch, reason, options_.cancel_grace_ms};
    outgoing_.push_back({job.agent_id, c});
  }
}

bool Scheduler::label_matches(const std::string& label, const AgentState& agent) const {
  if (label.empty()) return true;
  auto parsed = pipelines::parse_label_expr(label);
  if (auto* e = std::get_if<pipelines::LabelExpr>(&parsed)) return e->matches(agent.labels);
  return false;
}

void Scheduler::dispatch(int64_t now) {
  std::vector<Job*> queued;
  for (auto& [id, job] : jobs_) {
    if (job.agent_id.empty() && !job.orphan) queued.push_back(&job);
  }
  std::sort(queued.begin(), queued.end(),
            [](const Job* a, const Job* b) { return a->seq < b->seq; });
  // An agent whose heartbeats stopped gets no new work, even while its
  // connection looks open (a silent partition): it could not take the job,
  // and a job just lost there would go straight back to it. Always shorter
  // than the lease, so an agent whose job was lost counts as silent.
  const int64_t silent_after =
      std::min(options_.lease_ttl_ms * 3 / 4, options_.heartbeat_ms * 5 / 2);
  for (Job* job : queued) {
    auto run_it = runs_.find(job->run_id);
    if (run_it == runs_.end()) continue;
    RunState& run = *run_it->second;
    const ExecNode& n = run.nodes[static_cast<size_t>(job->node)];
    if (deploy_held(run, job->node, now)) continue;
    AgentState* best = nullptr;
    for (auto& [id, agent] : agents_) {
      if (!agent.connected || static_cast<int>(agent.jobs.size()) >= agent.executors) continue;
      if (now - agent.last_seen > silent_after) continue;
      if (!label_matches(n.label, agent)) continue;
      if (n.uses_top_agent && agent.name == run.preferred_agent) {
        best = &agent;
        break;
      }
      if (!best || agent.jobs.size() < best->jobs.size()) best = &agent;
    }
    if (best) assign(*job, *best, now);
  }
}

void Scheduler::assign(Job& job, AgentState& agent, int64_t now) {
  RunState& run = *runs_.at(job.run_id);
  StageRecord& rec = run.record_of(job.node);
  std::string error;
  job.epoch = rec.epoch + 1;
  job.agent_id = agent.agent_id;
  job.assigned_at = now;
  job.lease_until = now + options_.lease_ttl_ms;
  job.accepted = false;
  protocol::JobSpec spec = make_spec(run, job, error);
  rec.epoch = job.epoch;
  rec.attempts = job.attempt;
  if (in_rollout(run, job.node)) ++rec.rollout.tries;
  rec.agent = agent.name;
  run.mark(job.node, RunStatus::Running, now);
  // Stored before the assignment leaves (write-ahead): a restarted
  // controller must know the job runs, at this epoch.
  dirty_.insert(run.run.id);
  agent.jobs.insert(job.job_id);
  if (run.nodes[static_cast<size_t>(job.node)].uses_top_agent && run.preferred_agent.empty())
    run.preferred_agent = agent.name;
  if (!error.empty()) {
    end_attempt(job, Result::Failure, error, false, now);
    return;
  }
  log::info("scheduler", "job.assigned",
            {{"run", std::to_string(job.run_id)},
             {"stage", rec.stage_id},
             {"agent", agent.name},
             {"epoch", std::to_string(job.epoch)}});
  protocol::Assign a{job.job_id, job.epoch, std::move(spec)};
  outgoing_.push_back({agent.agent_id, std::move(a)});
}

void Scheduler::end_attempt(Job& job_ref, std::optional<Result> result, const std::string& reason,
                            bool lost, int64_t now, bool inconclusive) {
  Job job = job_ref;  // the map entry goes away below
  jobs_.erase(job.job_id);
  if (auto a = agents_.find(job.agent_id); a != agents_.end()) a->second.jobs.erase(job.job_id);
  auto run_it = runs_.find(job.run_id);
  if (run_it == runs_.end()) return;
  RunState& run = *run_it->second;
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
    next.seq = next_seq_++;
    jobs_.emplace(next.job_id, std::move(next));
    log::info("scheduler", "job.retry",
              {{"run", std::to_string(job.run_id)},
               {"stage", rec.stage_id},
               {"attempt", std::to_string(job.attempt + 1)}});
    return;
  }
  if (job.stopping && result != Result::Failure) result = Result::Aborted;
  std::string why = reason;
  if (job.stopping && why.empty()) why = job.stop_reason;
  if (rollout && rollout_next(run, job.node, result, why, inconclusive, job.stopping, now)) return;
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

std::vector<Outgoing> Scheduler::take_outgoing() {
  return std::exchange(outgoing_, {});
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

const Job* Scheduler::job(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

size_t Scheduler::queue_depth() const {
  return static_cast<size_t>(std::count_if(jobs_.begin(), jobs_.end(), [](const auto& j) {
    return j.second.agent_id.empty() && !j.second.orphan;
  }));
}

size_t Scheduler::running_jobs() const {
  return jobs_.size() - queue_depth();
}

void Scheduler::forget_run(int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it != runs_.end() && it->second->finished()) runs_.erase(it);
}

}  // namespace gantry::controller
