// The agent-facing half of the scheduler: sessions, heartbeats and leases,
// accepts and finishes, and the periodic tick.
#include <algorithm>

#include "gantry/common/log.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

using pipelines::Result;

protocol::Welcome Scheduler::hello(const protocol::Hello& h, const std::string& token_name,
                                   int64_t now) {
  AgentState& agent = agents_[h.agent_id];
  bool restarted = agent.instance_id != h.instance_id;
  agent.agent_id = h.agent_id;
  agent.name = h.name.empty() ? h.agent_id : h.name;
  agent.instance_id = h.instance_id;
  agent.token_name = token_name;
  agent.labels = std::set<std::string>(h.labels.begin(), h.labels.end());
  agent.labels.insert(agent.name);
  agent.executors = std::clamp(h.executors, 1, 1024);
  agent.connected = true;
  agent.last_seen = now;

  protocol::Welcome w;
  w.heartbeat_ms = options_.heartbeat_ms;
  w.lease_ttl_ms = options_.lease_ttl_ms;
  std::set<std::string> listed;
  for (const protocol::ResumeJob& r : h.resume) {
    listed.insert(r.job_id);
    protocol::ResumeVerdict v{r.job_id, r.epoch, "abort", 0, false};
    auto it = jobs_.find(r.job_id);
    if (it != jobs_.end() && it->second.epoch == r.epoch &&
        (it->second.agent_id == h.agent_id || it->second.orphan)) {
      Job& job = it->second;
      job.orphan = false;
      job.agent_id = h.agent_id;
      job.accepted = true;
      job.lease_until = now + options_.lease_ttl_ms;
      agent.jobs.insert(job.job_id);
      v.verdict = "continue";
      v.cancel = job.stopping;
    }
    w.resume.push_back(v);
  }
  // Jobs this agent held that it no longer mentions: an assignment it never
  // received is sent again; a job it lost (it restarted) is over.
  std::vector<std::string> held(agent.jobs.begin(), agent.jobs.end());
  for (const std::string& id : held) {
    if (listed.count(id)) continue;
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    Job& job = it->second;
    if (!restarted && !job.accepted) {
      auto run = runs_.find(job.run_id);
      if (run == runs_.end()) continue;
      std::string error;
      protocol::Assign a{job.job_id, job.epoch, make_spec(*run->second, job, error)};
      outgoing_.push_back({h.agent_id, std::move(a)});
      continue;
    }
    end_attempt(job, Result::Failure, "agent lost (restarted)", true, now);
  }
  log::info("scheduler", "agent.hello",
            {{"agent", agent.name},
             {"executors", std::to_string(agent.executors)},
             {"resumed", std::to_string(h.resume.size())}});
  return w;
}

void Scheduler::disconnected(const std::string& agent_id, int64_t now) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  it->second.connected = false;
  it->second.last_seen = now;
}

void Scheduler::heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb, int64_t now) {
  auto a = agents_.find(agent_id);
  if (a == agents_.end()) return;
  a->second.last_seen = now;
  for (const protocol::JobRef& ref : hb.jobs) {
    auto it = jobs_.find(ref.job_id);
    if (it != jobs_.end() && it->second.agent_id == agent_id && it->second.epoch == ref.epoch)
      it->second.lease_until = now + options_.lease_ttl_ms;
  }
  outgoing_.push_back({agent_id, protocol::HeartbeatAck{}});
}

std::optional<protocol::Nack> Scheduler::check(const std::string& agent_id,
                                               const std::string& job_id, uint64_t epoch) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return protocol::Nack{job_id, epoch, "unknown_job", "no such job", 0};
  if (it->second.agent_id != agent_id || it->second.epoch != epoch)
    return protocol::Nack{
        job_id, epoch, "stale_epoch",
        "job " + job_id + " is at epoch " + std::to_string(it->second.epoch) + " on another holder",
        0};
  return std::nullopt;
}

std::optional<protocol::Nack> Scheduler::accept(const std::string& agent_id,
                                                const protocol::Accept& a, int64_t now) {
  if (auto nack = check(agent_id, a.job_id, a.epoch)) return nack;
  Job& job = jobs_.at(a.job_id);
  job.accepted = true;
  job.lease_until = now + options_.lease_ttl_ms;
  return std::nullopt;
}

std::variant<protocol::FinishAck, protocol::Nack> Scheduler::finish(const std::string& agent_id,
                                                                    const protocol::Finish& f,
                                                                    uint64_t committed,
                                                                    int64_t now) {
  if (auto nack = check(agent_id, f.job_id, f.epoch)) {
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
  Job& job = jobs_.at(f.job_id);
  RunState& run = *runs_.at(job.run_id);
  StageRecord& rec = run.record_of(job.node);
  rec.log_bytes = f.log_bytes;
  run.run.tests_total += f.tests.total;
  run.run.tests_failed += f.tests.failed;
  run.run.tests_skipped += f.tests.skipped;
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
  end_attempt(job, result, reason, lost, now, f.inconclusive);
  return protocol::FinishAck{f.job_id, f.epoch};
}

void Scheduler::tick(int64_t now) {
  std::vector<std::string> lost, unaccepted, forced;
  for (auto& [id, job] : jobs_) {
    if (job.agent_id.empty() && !job.orphan) continue;
    if (job.stopping && job.stop_deadline < now) {
      forced.push_back(id);
    } else if (job.lease_until < now) {
      lost.push_back(id);
    } else if (!job.accepted && job.assigned_at + options_.accept_timeout_ms < now) {
      auto a = agents_.find(job.agent_id);
      if (a != agents_.end() && a->second.connected) unaccepted.push_back(id);
    }
  }
  for (const std::string& id : forced) {
    auto it = jobs_.find(id);
    if (it != jobs_.end())
      end_attempt(it->second, Result::Aborted, it->second.stop_reason + " (forced)", false, now);
  }
  for (const std::string& id : lost) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    log::warn("scheduler", "job.lost", {{"job", id}, {"agent", it->second.agent_id}});
    end_attempt(it->second, Result::Failure, "agent lost", true, now);
  }
  for (const std::string& id : unaccepted) {
    // Offered but never taken: offer it again (elsewhere, at a new epoch).
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    if (auto a = agents_.find(it->second.agent_id); a != agents_.end()) a->second.jobs.erase(id);
    it->second.agent_id.clear();
    it->second.seq = next_seq_++;
  }
  for (auto& [id, run] : runs_) {
    int64_t limit = run->run_timeout_ms();
    if (limit > 0 && !run->finished() && !run->run.cancel_requested && run->run.started_at > 0 &&
        run->run.started_at + limit < now)
      cancel_run(id, "timeout after " + std::to_string(limit / 1000) + "s", now);
  }
  tick_rollouts(now);
  dispatch(now);
}

}  // namespace gantry::controller
