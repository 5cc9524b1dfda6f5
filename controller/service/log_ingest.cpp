#include "service/log_ingest.hpp"

#include <algorithm>
#include <cstdio>

#include "gantry/common/log.hpp"

namespace gantry::controller {

std::optional<std::string> LogIngest::path_of(const std::string& job_id) {
  const Job* job = engine_.scheduler().board().job(job_id);
  if (!job) return std::nullopt;
  const RunState* run = engine_.scheduler().run(job->run_id);
  if (!run) return std::nullopt;
  return store_.log_path(job->run_id, run->record_of(job->node).stage_id, job->attempt);
}

std::optional<protocol::Nack> LogIngest::append(const std::string& agent_id,
                                                const protocol::LogChunk& header,
                                                std::string_view payload) {
  auto nack = [&](const std::string& code, const std::string& message, uint64_t expected) {
    return protocol::Nack{header.job_id, header.epoch, code, message, expected};
  };
  // One lookup per chunk: the job's path is kept while it runs.
  auto known = progress_.find(header.job_id);
  std::string path;
  if (known != progress_.end() && known->second.epoch == header.epoch) {
    path = known->second.path;
  } else if (auto p = path_of(header.job_id)) {
    path = *p;
  } else {
    return nack("unknown_job", "no such job", 0);
  }
  uint64_t committed = 0;
  const uint64_t before = known != progress_.end() ? known->second.committed : header.offset;
  const LogFiles::Outcome outcome =
      files_.append(header.job_id, path, header.offset, payload, committed);
  switch (outcome) {
    case LogFiles::Outcome::Gap:
      return nack("log_gap", "expected offset " + std::to_string(committed), committed);
    case LogFiles::Outcome::TooLarge:
      return nack("log_limit", "the log is past its 1 GiB cap", committed);
    case LogFiles::Outcome::Error:
      // The agent keeps its spool and sends again from `committed` later.
      return nack("log_error", "the controller could not write the log; send again later",
                  committed);
    case LogFiles::Outcome::Written:
    case LogFiles::Outcome::Duplicate:
      break;
  }
  note(header.job_id, path, committed);
  if (outcome == LogFiles::Outcome::Written && committed > before)
    mark_time(header.job_id, path, std::max(before, header.offset));
  pending_.push_back({agent_id, {header.job_id, header.epoch, committed}});
  if (!sync_scheduled_) {
    sync_scheduled_ = true;
    // Group commit: one fdatasync for every chunk that arrives meanwhile, at
    // most one every 2 ms. A chunk after a quiet spell (a stage's last
    // output, which its finish waits for) is synced at once.
    constexpr auto kGroup = std::chrono::milliseconds(2);
    auto since = std::chrono::steady_clock::now() - last_sync_;
    auto delay = since >= kGroup ? std::chrono::milliseconds(0)
                                 : std::chrono::ceil<std::chrono::milliseconds>(kGroup - since);
    defer_(delay, [this] { sync(); });
  }
  return std::nullopt;
}

void LogIngest::sync() {
  sync_scheduled_ = false;
  std::vector<std::string> failed = files_.sync();
  last_sync_ = std::chrono::steady_clock::now();
  // One cumulative ack per job: the last committed offset wins.
  std::map<std::pair<std::string, std::string>, protocol::LogAck> latest;
  for (const PendingAck& p : pending_) latest[{p.agent_id, p.ack.job_id}] = p.ack;
  pending_.clear();
  for (auto& [key, ack] : latest) {
    if (std::find(failed.begin(), failed.end(), ack.job_id) != failed.end()) {
      // Not durable: the agent sends again from what is.
      auto p = progress_.find(ack.job_id);
      uint64_t durable = p == progress_.end() ? 0 : files_.committed(ack.job_id, p->second.path);
      if (p != progress_.end()) p->second.committed = durable;
      outbox_.send(key.first, protocol::Nack{ack.job_id, ack.epoch, "log_error",
                                             "the controller could not sync the log", durable});
      continue;
    }
    outbox_.send(key.first, ack);
  }
  publish();
  events_.pump();
}

uint64_t LogIngest::committed(const std::string& job_id) {
  auto path = path_of(job_id);
  if (!path) return 0;
  if (!pending_.empty()) sync();
  uint64_t committed = files_.committed(job_id, *path);
  note(job_id, *path, committed);  // also bytes from before a restart
  publish();
  return committed;
}

void LogIngest::finished(const std::string& job_id) {
  files_.close(job_id);
  publish(job_id);
}

void LogIngest::forget_run(int64_t run_id) {
  std::erase_if(progress_, [&](const auto& kv) { return kv.second.run_id == run_id; });
}

void LogIngest::note(const std::string& job_id, const std::string& path, uint64_t committed) {
  auto it = progress_.find(job_id);
  if (it == progress_.end()) {
    const Job* job = engine_.scheduler().board().job(job_id);
    const RunState* run = job ? engine_.scheduler().run(job->run_id) : nullptr;
    if (!run) return;
    Progress p;
    p.run_id = job->run_id;
    p.stage_id = run->record_of(job->node).stage_id;
    p.attempt = job->attempt;
    p.epoch = job->epoch;
    p.path = path;
    it = progress_.emplace(job_id, std::move(p)).first;
  } else if (it->second.path != path) {
    // A new attempt of the same stage: the last one's bytes are all out.
    const Job* job = engine_.scheduler().board().job(job_id);
    if (!job) return;
    it->second.attempt = job->attempt;
    it->second.epoch = job->epoch;
    it->second.path = path;
  }
  it->second.committed = committed;
}

void LogIngest::mark_time(const std::string& job_id, const std::string& path, uint64_t offset) {
  auto it = progress_.find(job_id);
  if (it == progress_.end()) return;
  const int64_t now = engine_.now();
  if (it->second.last_mark != 0 && now - it->second.last_mark < 1000) return;
  it->second.last_mark = now;
  // Best effort: a lost mark costs a timestamp, never a byte of the log.
  if (FILE* f = std::fopen((path + ".times").c_str(), "a")) {
    std::fprintf(f, "%llu %lld\n", static_cast<unsigned long long>(offset),
                 static_cast<long long>(now));
    std::fclose(f);
  }
}

void LogIngest::publish(const std::string& final_job) {
  for (auto it = progress_.begin(); it != progress_.end();) {
    const Progress& p = it->second;
    bool final = it->first == final_job;
    if (final_job.empty() || final)
      events_.log_committed(p.run_id, p.stage_id, p.attempt, p.path, p.committed, final);
    it = final ? progress_.erase(it) : std::next(it);
  }
}

}  // namespace gantry::controller
