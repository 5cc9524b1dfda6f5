// What agents' messages and the clock mean for runs: a hello that finds
// jobs lost with an agent's previous instance, a finish, and the periodic
// tick (leases, deadlines, run timeouts, timed pauses). The board
// (job_board.hpp) keeps the agents and jobs themselves.
#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/groovy.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/rollout.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

namespace {

constexpr size_t kMaxScriptState = size_t{1} << 20;
constexpr size_t kMaxScriptEnv = 1000;

// What a job's Groovy left (Finish) joins the run's, for its later jobs: the
// later writer of a name wins, as in Jenkins where the stages run in turn.
void merge_script_state(RunRecord& run, const protocol::Finish& f) {
  for (const auto& [k, v] : f.env_changes) {
    if (run.script_env.size() >= kMaxScriptEnv && !run.script_env.count(k)) break;
    run.script_env[k] = v;
  }
  if (!f.description.empty()) run.description = f.description;
  if (!f.display_name.empty()) run.display_name = f.display_name;
  if (f.script_state.empty()) return;
  namespace groovy = pipelines::groovy;
  std::vector<std::pair<std::string, groovy::Value>> vars;
  std::vector<std::pair<std::string, groovy::Value>> changed;
  if (!run.script_state.empty()) groovy::decode_variables(run.script_state, vars);
  if (!groovy::decode_variables(f.script_state, changed)) {
    log::warn("scheduler", "job.bad_script_state", {{"run", std::to_string(run.id)}});
    return;
  }
  for (auto& [name, v] : changed) {
    bool found = false;
    for (auto& [n, old] : vars) {
      if (n == name) {
        old = v;
        found = true;
      }
    }
    if (!found) vars.emplace_back(name, std::move(v));
  }
  std::string merged = groovy::encode_variables(vars, kMaxScriptState);
  if (merged.empty() && !vars.empty()) {
    log::warn("scheduler", "job.script_state_too_large", {{"run", std::to_string(run.id)}});
    return;
  }
  run.script_state = std::move(merged);
}

}  // namespace

using pipelines::Result;

protocol::Welcome Scheduler::hello(const protocol::Hello& h, const std::string& token_name,
                                   int64_t now) {
  JobBoard::Hello out = board_.hello(h, token_name, now);
  for (const std::string& id : out.resend) {
    const Job* job = board_.job(id);
    const RunState* run = job ? this->run(job->run_id) : nullptr;
    if (!run) continue;
    std::string error;
    board_.send(h.agent_id,
                protocol::Assign{job->job_id, job->epoch, job_spec(*run, *job, options_, error)});
  }
  for (const std::string& id : out.lost)
    end_attempt(id, Result::Failure, "agent lost (restarted)", true, now);
  return out.welcome;
}

std::variant<protocol::FinishAck, protocol::Nack> Scheduler::finish(const std::string& agent_id,
                                                                    const protocol::Finish& f,
                                                                    uint64_t committed,
                                                                    int64_t now) {
  if (auto nack = board_.check(agent_id, f.job_id, f.epoch)) {
    // A finish replayed after it was applied gets the same ack.
    for (const auto& [id, run] : runs_) {
      for (const StageRecord& rec : run->stages) {
        if (rec.job_id == f.job_id && rec.epoch == f.epoch && rec.finished_at != 0)
          return protocol::FinishAck{f.job_id, f.epoch};
      }
    }
    return *nack;
  }
  if (f.log_bytes > committed) {
    return protocol::Nack{f.job_id, f.epoch, "log_gap",
                          "controller holds " + std::to_string(committed) + " of " +
                              std::to_string(f.log_bytes) + " log bytes",
                          committed};
  }
  const Job& job = *board_.job(f.job_id);
  RunState& run = *runs_.at(job.run_id);
  StageRecord& rec = run.record_of(job.node);
  rec.log_bytes = f.log_bytes;
  run.run.tests_total += f.tests.total;
  run.run.tests_failed += f.tests.failed;
  run.run.tests_skipped += f.tests.skipped;
  merge_script_state(run.run, f);
  run.dirty_run = true;
  std::optional<Result> result = pipelines::parse_result(f.result);
  if (!result) result = Result::Failure;
  log::info("scheduler", "job.finished",
            {{"run", std::to_string(job.run_id)}, {"stage", rec.stage_id}, {"result", f.result}});
  std::string reason = f.reason;
  if (f.dropped_bytes > 0) {
    // The agent's log limit: say so on the stage, with the exact count.
    std::string note =
        "log truncated: " + std::to_string(f.dropped_bytes) + " bytes past the log limit dropped";
    reason = reason.empty() ? note : reason + "; " + note;
  }
  // A job its agent fenced (lease lost while the controller was paused or
  // unreachable) ended for want of a lease, as a lost one does: retried when
  // it may be, unless the controller itself had asked it to stop.
  const bool lost = f.fenced && !job.stopping;
  end_attempt(f.job_id, result, reason, lost, now, f.inconclusive);
  return protocol::FinishAck{f.job_id, f.epoch};
}

void Scheduler::tick(int64_t now) {
  JobBoard::Expired expired = board_.expire(now);
  for (const std::string& id : expired.forced) {
    if (const Job* job = board_.job(id))
      end_attempt(id, Result::Aborted, job->stop_reason + " (forced)", false, now);
  }
  for (const std::string& id : expired.lost) {
    const Job* job = board_.job(id);
    if (!job) continue;
    log::warn("scheduler", "job.lost", {{"job", id}, {"agent", job->agent_id}});
    end_attempt(id, Result::Failure, "agent lost", true, now);
  }
  std::vector<int64_t> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  for (int64_t id : ids) {
    RunState* run = stored_run(id);
    if (!run) continue;
    int64_t limit = run->run_timeout_ms();
    if (limit > 0 && !run->finished() && !run->run.cancel_requested && run->run.started_at > 0 &&
        run->run.started_at + limit < now)
      cancel_run(id, "timeout after " + std::to_string(limit / 1000) + "s", now);
    for (int node : pauses_over(*run, now)) {
      after_phase(*run, node, now);
      dirty_.insert(id);
      dispatch_leaf(*run, node, now);
    }
  }
  dispatch(now);
}

}  // namespace gantry::controller
