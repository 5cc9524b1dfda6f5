// Commit statuses on GitHub and GitLab (commit_status.hpp).
#include "service/commit_status.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

#include "gantry/common/log.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"
#include "scheduler/run_state.hpp"

namespace gantry::controller {

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What a run's or stage's status reads as: GitHub's state and a short description.
std::pair<std::string, std::string> state_of(RunStatus s, const std::string& what) {
  switch (s) {
    case RunStatus::Queued:
      return {"pending", what + " is queued"};
    case RunStatus::Waiting:
      return {"pending", what + " is waiting for approval or input"};
    case RunStatus::Running:
      return {"pending", what + " is running"};
    case RunStatus::Succeeded:
      return {"success", what + " succeeded"};
    case RunStatus::Unstable:
      return {"failure", what + " is unstable (test failures)"};
    case RunStatus::Failed:
      return {"failure", what + " failed"};
    case RunStatus::Aborted:
      return {"error", what + " was aborted"};
    case RunStatus::Skipped:
      return {"success", what + " was skipped"};
  }
  return {"error", what};
}

// GitLab's words for GitHub's states.
std::string gitlab_state(const std::string& s, const std::string& description) {
  if (s == "success") return "success";
  if (s == "failure") return "failed";
  if (s == "error") return "canceled";
  return description.find("running") != std::string::npos ? "running" : "pending";
}

std::string branch_of(const RunRecord& r) {
  auto b = r.change_request.find("CHANGE_BRANCH");
  if (b != r.change_request.end() && !b->second.empty()) return b->second;
  for (const char* prefix : {"refs/heads/", "refs/tags/"}) {
    if (r.ref.starts_with(prefix)) return r.ref.substr(std::char_traits<char>::length(prefix));
  }
  return r.ref;
}

}  // namespace

ForgeRequest forge_request(const ForgeConfig& forge, const std::string& token,
                           const StatusUpdate& u) {
  ForgeRequest r;
  std::string description = u.description.substr(0, 140);
  if (forge.type == "gitlab") {
    r.url = forge.api + "/projects/" + net::url_encode(forge.project) + "/statuses/" + u.commit;
    nlohmann::json body = {{"state", gitlab_state(u.state, u.description)},
                           {"name", u.context},
                           {"target_url", u.target_url},
                           {"description", description}};
    if (!u.ref.empty()) body["ref"] = u.ref;
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r.headers.push_back({"PRIVATE-TOKEN", token});
  } else {
    r.url = forge.api + "/repos/" + forge.project + "/statuses/" + u.commit;
    r.body = nlohmann::json{{"state", u.state},
                            {"context", u.context},
                            {"target_url", u.target_url},
                            {"description", description}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r.bearer = token;
    r.headers.push_back({"Accept", "application/vnd.github+json"});
    r.headers.push_back({"X-GitHub-Api-Version", "2022-11-28"});
  }
  r.headers.push_back({"User-Agent", "gantry"});
  return r;
}

CommitStatus::CommitStatus(const std::vector<RepositoryConfig>& repos,
                           const std::map<std::string, SecretConfig>& secrets) {
  reconfigure(repos, secrets);
  worker_ = std::thread([this] { work(); });
}

CommitStatus::~CommitStatus() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void CommitStatus::reconfigure(const std::vector<RepositoryConfig>& repos,
                               const std::map<std::string, SecretConfig>& secrets) {
  targets_.clear();
  for (const RepositoryConfig& r : repos) {
    if (r.forge.type.empty()) continue;
    auto s = secrets.find(r.forge.token);
    targets_[r.name] = Target{r.forge, s == secrets.end() ? std::string() : s->second.value};
  }
}

void CommitStatus::run_stored(const RunState& run, const std::vector<int>& stages) {
  const RunRecord& r = run.run;
  auto target = targets_.find(r.repo_name);
  if (target == targets_.end() || r.commit.size() != 40 || r.repo_name.empty()) return;
  const ForgeConfig& forge = target->second.forge;
  const std::string url =
      public_url_.empty() ? std::string() : public_url_ + "/#/runs/" + std::to_string(r.id);
  std::map<std::string, std::string>& posted = posted_[r.id];
  auto post = [&](const std::string& context, RunStatus status, const std::string& what) {
    auto [state, description] = state_of(status, what);
    const std::string key = state + "|" + description;
    auto& last = posted[context];
    if (last == key) return;
    last = key;
    enqueue(StatusUpdate{r.repo_name, r.commit, state, context, description, url, branch_of(r)});
  };
  post(forge.context, r.status, r.job_name + " #" + std::to_string(r.number));
  if (!forge.stages) return;
  for (int i : stages) {
    if (i < 0 || static_cast<size_t>(i) >= run.stages.size()) continue;
    const StageRecord& rec = run.stages[static_cast<size_t>(i)];
    // Top-level stages only: their nodes hang from the root sequence.
    bool top = false;
    for (const ExecNode& n : run.nodes) {
      if (n.record == i) top = n.parent == 0 && n.kind == NodeKind::Stage;
    }
    if (!top || rec.status == RunStatus::Skipped) continue;
    post(forge.context + "/" + rec.name, rec.status, "stage " + rec.name);
  }
}

void CommitStatus::forget(int64_t run_id) {
  posted_.erase(run_id);
}

void CommitStatus::enqueue(const StatusUpdate& u) {
  Item item{targets_.at(u.repo), u, 0};
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueue) {
      ++stats_[queue_.front().update.repo].dropped;
      log::warn("forge", "status.dropped",
                {{"repo", queue_.front().update.repo}, {"reason", "queue full"}});
      queue_.pop_front();
    }
    item.seq = ++seq_;
    newest_[u.repo + " " + u.commit + " " + u.context] = item.seq;
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void CommitStatus::work() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    send(item);
    lock.lock();
    const std::string key = item.update.repo + " " + item.update.commit + " " + item.update.context;
    if (auto it = newest_.find(key); it != newest_.end() && it->second == item.seq)
      newest_.erase(it);
  }
}

void CommitStatus::send(Item& item) {
  const StatusUpdate& u = item.update;
  const std::string key = u.repo + " " + u.commit + " " + u.context;
  std::string error;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    {
      std::unique_lock lock(mu_);
      auto newest = newest_.find(key);
      // A newer state of the same status is queued: this one would only be overwritten.
      if (newest != newest_.end() && newest->second != item.seq) return;
      if (attempt > 1) {
        ++stats_[u.repo].retried;
        const auto delay = std::chrono::milliseconds(backoff_ms_ << (attempt - 2));
        if (cv_.wait_for(lock, delay, [&] { return stop_; })) return;
      }
    }
    if (item.target.token.empty()) {
      error = "the forge token's secret '" + item.target.forge.token + "' is empty";
      break;
    }
    ForgeRequest fr = forge_request(item.target.forge, item.target.token, u);
    net::ClientRequest req;
    req.method = "POST";
    req.url = fr.url;
    req.body = fr.body;
    req.headers = fr.headers;
    req.bearer_token = fr.bearer;
    req.timeout = std::chrono::milliseconds(10000);
    req.max_body = 1 << 20;
    net::ClientResponse resp = net::http_request(req);
    if (resp.ok && resp.status >= 200 && resp.status < 300) {
      std::lock_guard lock(mu_);
      ++stats_[u.repo].sent;
      log::info("forge", "status.sent",
                {{"repo", u.repo},
                 {"commit", u.commit.substr(0, 12)},
                 {"context", u.context},
                 {"state", u.state}});
      return;
    }
    error = resp.ok ? item.target.forge.type + " answered " + std::to_string(resp.status) + ": " +
                          resp.body.substr(0, 200)
                    : resp.error;
    const bool retry = !resp.ok || resp.status >= 500 || resp.status == 429;
    log::warn("forge", "status.failed",
              {{"repo", u.repo},
               {"commit", u.commit.substr(0, 12)},
               {"context", u.context},
               {"attempt", std::to_string(attempt)},
               {"error", error}});
    if (!retry) break;
  }
  std::lock_guard lock(mu_);
  StatusStats& s = stats_[u.repo];
  ++s.failed;
  s.last_error = u.context + " " + u.state + " on " + u.commit.substr(0, 12) + ": " + error;
  s.last_error_at = unix_ms();
}

std::map<std::string, StatusStats> CommitStatus::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::string CommitStatus::metrics_text() const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP gantry_commit_statuses_total Commit statuses posted to forges, by outcome.\n"
      "# TYPE gantry_commit_statuses_total counter\n";
  for (const auto& [repo, s] : stats_) {
    const std::string r = "repo=\"" + repo + "\"";
    out +=
        "gantry_commit_statuses_total{" + r + ",outcome=\"sent\"} " + std::to_string(s.sent) + "\n";
    out += "gantry_commit_statuses_total{" + r + ",outcome=\"failed\"} " +
           std::to_string(s.failed) + "\n";
    out += "gantry_commit_statuses_total{" + r + ",outcome=\"retried\"} " +
           std::to_string(s.retried) + "\n";
  }
  return out;
}

}  // namespace gantry::controller
