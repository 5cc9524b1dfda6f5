// Agents, jobs, leases and epochs (job_board.hpp).
#include "scheduler/job_board.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/label_expr.hpp"

namespace gantry::controller {
namespace {

bool label_matches(const std::string& label, const AgentState& agent) {
  if (label.empty()) return true;
  auto parsed = pipelines::parse_label_expr(label);
  if (auto* e = std::get_if<pipelines::LabelExpr>(&parsed)) return e->matches(agent.labels);
  return false;
}

}  // namespace

JobBoard::Hello JobBoard::hello(const protocol::Hello& h, const std::string& token_name,
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

  Hello out;
  protocol::Welcome& w = out.welcome;
  w.heartbeat_ms = options_.heartbeat_ms;
  w.lease_ttl_ms = options_.lease_ttl_ms;
  w.term = options_.term;
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
  for (const std::string& id : agent.jobs) {
    if (listed.count(id)) continue;
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    (!restarted && !it->second.accepted ? out.resend : out.lost).push_back(id);
  }
  log::info("scheduler", "agent.hello",
            {{"agent", agent.name},
             {"executors", std::to_string(agent.executors)},
             {"resumed", std::to_string(h.resume.size())}});
  return out;
}

void JobBoard::disconnected(const std::string& agent_id, int64_t now) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  it->second.connected = false;
  it->second.last_seen = now;
}

void JobBoard::heartbeat(const std::string& agent_id, const protocol::Heartbeat& hb, int64_t now) {
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

std::optional<protocol::Nack> JobBoard::check(const std::string& agent_id,
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

std::optional<protocol::Nack> JobBoard::accept(const std::string& agent_id,
                                               const protocol::Accept& a, int64_t now) {
  if (auto nack = check(agent_id, a.job_id, a.epoch)) return nack;
  Job& job = jobs_.at(a.job_id);
  job.accepted = true;
  job.lease_until = now + options_.lease_ttl_ms;
  return std::nullopt;
}

Job& JobBoard::enqueue(Job job) {
  job.seq = next_seq_++;
  std::string id = job.job_id;
  return jobs_.insert_or_assign(id, std::move(job)).first->second;
}

Job* JobBoard::find(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const Job* JobBoard::job(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::optional<Job> JobBoard::remove(const std::string& job_id) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  Job job = std::move(it->second);
  jobs_.erase(it);
  if (auto a = agents_.find(job.agent_id); a != agents_.end()) a->second.jobs.erase(job.job_id);
  return job;
}

void JobBoard::stop(Job& job, const std::string& reason, int64_t now) {
  if (job.stopping) return;
  job.stopping = true;
  job.stop_reason = reason;
  job.stop_deadline = now + options_.cancel_grace_ms + 5000 + options_.lease_ttl_ms;
  auto agent = agents_.find(job.agent_id);
  if (agent != agents_.end() && agent->second.connected)
    outgoing_.push_back(
        {job.agent_id, protocol::Cancel{job.job_id, job.epoch, reason, options_.cancel_grace_ms}});
}

std::vector<std::string> JobBoard::queued() const {
  std::vector<const Job*> jobs;
  for (const auto& [id, job] : jobs_) {
    if (job.queued()) jobs.push_back(&job);
  }
  std::sort(jobs.begin(), jobs.end(), [](const Job* a, const Job* b) { return a->seq < b->seq; });
  std::vector<std::string> ids;
  ids.reserve(jobs.size());
  for (const Job* job : jobs) ids.push_back(job->job_id);
  return ids;
}

std::string JobBoard::why_no_agent(const std::string& label, const std::string& repo) const {
  const std::string wanted = label.empty() ? "" : " with label '" + label + "'";
  size_t connected = 0, matching = 0, busy = 0;
  std::string others;  // a few connected agents and their labels, for "none has it"
  for (const auto& [id, agent] : agents_) {
    if (!agent.connected) continue;
    ++connected;
    if (auto only = options_.pool_repositories.find(agent.token_name);
        only != options_.pool_repositories.end() && !only->second.count(repo))
      continue;
    if (!options_.any_label && !label_matches(label, agent)) {
      if (connected <= 5) {
        std::string labels;
        for (const std::string& l : agent.labels) {
          if (l != agent.name) labels += (labels.empty() ? "" : " ") + l;
        }
        others += (others.empty() ? "" : "; ") + agent.name +
                  (labels.empty() ? std::string(": no labels") : ": " + labels);
      }
      continue;
    }
    ++matching;
    if (static_cast<int>(agent.jobs.size()) >= agent.executors) ++busy;
  }
  if (connected == 0) return "waiting for an agent" + wanted + ": no agent is connected";
  if (matching == 0)
    return "waiting for an agent" + wanted + ": none of the " + std::to_string(connected) +
           " connected agent(s) has it (" + others + (connected > 5 ? "; ..." : "") + ")";
  if (busy == matching)
    return "waiting for a free executor: the " + std::to_string(matching) + " agent(s)" + wanted +
           " are busy";
  return "waiting for an agent" + wanted + " to take it";
}

// Jobs a pipeline-level agent takes beyond its executors: the parallel
// branches of the one pipeline that holds it.
constexpr int kSharedExecutorJobs = 8;

AgentState* JobBoard::free_agent(const std::string& label, const std::string& preferred,
                                 const std::string& repo, int64_t now) {
  // An agent whose heartbeats stopped gets no new work, even while its
  // connection looks open (a silent partition): it could not take the job,
  // and a job just lost there would go straight back to it. Always shorter
  // than the lease, so an agent whose job was lost counts as silent.
  const int64_t silent_after =
      std::min(options_.lease_ttl_ms * 3 / 4, options_.heartbeat_ms * 5 / 2);
  AgentState* best = nullptr;
  // Under a pipeline-level agent every stage without its own runs on the one
  // agent it got, in one workspace, as in Jenkins (its branches share that
  // node's executor, a few at a time beyond its count). Elsewhere only when
  // that agent is gone.
  if (!preferred.empty()) {
    for (auto& [id, agent] : agents_) {
      if (agent.name != preferred || !agent.connected) continue;
      if (agent.labels.count(kPodAgentLabel) && label != agent.name) continue;
      if (now - agent.last_seen > silent_after) continue;
      if (static_cast<int>(agent.jobs.size()) >= agent.executors + kSharedExecutorJobs)
        return nullptr;
      return &agent;
    }
  }
  for (auto& [id, agent] : agents_) {
    if (!agent.connected || static_cast<int>(agent.jobs.size()) >= agent.executors) continue;
    if (now - agent.last_seen > silent_after) continue;
    if (!options_.any_label && !label_matches(label, agent)) continue;
    if (agent.labels.count(kPodAgentLabel) && label != agent.name) continue;  // another's pod
    if (auto only = options_.pool_repositories.find(agent.token_name);
        only != options_.pool_repositories.end() && !only->second.count(repo))
      continue;  // a pool kept for other repositories (an inline or URL run has none)
    if (!best || agent.jobs.size() < best->jobs.size()) best = &agent;
  }
  return best;
}

void JobBoard::hand_out(Job& job, AgentState& agent, uint64_t epoch, int64_t now) {
  job.epoch = epoch;
  job.agent_id = agent.agent_id;
  job.assigned_at = now;
  job.lease_until = now + options_.lease_ttl_ms;
  job.accepted = false;
  agent.jobs.insert(job.job_id);
}

JobBoard::Expired JobBoard::expire(int64_t now) {
  Expired out;
  std::vector<std::string> unaccepted;
  for (auto& [id, job] : jobs_) {
    if (job.queued()) continue;
    if (job.stopping && job.stop_deadline < now) {
      out.forced.push_back(id);
    } else if (job.lease_until < now) {
      out.lost.push_back(id);
    } else if (!job.accepted && job.assigned_at + options_.accept_timeout_ms < now) {
      auto a = agents_.find(job.agent_id);
      if (a != agents_.end() && a->second.connected) unaccepted.push_back(id);
    }
  }
  for (const std::string& id : unaccepted) {
    // Offered but never taken: offer it again (elsewhere, at a new epoch).
    Job& job = jobs_.at(id);
    if (auto a = agents_.find(job.agent_id); a != agents_.end()) a->second.jobs.erase(id);
    job.agent_id.clear();
    job.seq = next_seq_++;
  }
  return out;
}

void JobBoard::send(const std::string& agent_id, protocol::ControllerMessage message) {
  outgoing_.push_back({agent_id, std::move(message)});
}

std::vector<Outgoing> JobBoard::take_outgoing() {
  return std::exchange(outgoing_, {});
}

size_t JobBoard::queue_depth() const {
  return static_cast<size_t>(
      std::count_if(jobs_.begin(), jobs_.end(), [](const auto& j) { return j.second.queued(); }));
}

}  // namespace gantry::controller
