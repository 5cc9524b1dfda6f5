// Change requests discovered by polling the forge's API (change_poller.hpp).
#include "service/change_poller.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "forge_changes.hpp"
#include "gantry/common/log.hpp"
#include "gantry/net/http_client.hpp"

namespace gantry::controller {

ChangePoller::ChangePoller(net::EventLoop& loop, Store& store, ChangePollerHooks hooks)
    : loop_(loop), store_(store), hooks_(std::move(hooks)) {
  worker_ = std::thread([this] { work(); });
}

ChangePoller::~ChangePoller() {
  stop();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ChangePoller::reconfigure(const std::vector<RepositoryConfig>& repos,
                               const std::map<std::string, SecretConfig>& secrets) {
  std::set<std::string> wanted;
  for (const RepositoryConfig& r : repos) {
    if (r.forge.type.empty() || r.forge.api.empty() || r.forge.token.empty() ||
        r.change_requests == "off" || r.poll_ms <= 0)
      continue;
    auto secret = secrets.find(r.forge.token);
    const std::string token = secret == secrets.end() ? std::string() : secret->second.value;
    wanted.insert(r.name);
    auto [it, is_new] = targets_.try_emplace(r.name);
    Target& t = it->second;
    if (!is_new && t.repo == r && t.token == token) continue;
    if (t.timer) loop_.cancel_timer(t.timer);
    t = Target{};
    t.repo = r;
    t.token = token;
    t.generation = ++generation_;
    if (started_) poll(t);
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    if (it->second.timer) loop_.cancel_timer(it->second.timer);
    it = targets_.erase(it);
  }
}

void ChangePoller::start() {
  started_ = true;
  for (auto& [name, t] : targets_) poll(t);
}

void ChangePoller::stop() {
  started_ = false;
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  for (auto& [name, t] : targets_) {
    if (t.timer) loop_.cancel_timer(t.timer);
    t.timer = 0;
    t.busy = false;
  }
  std::lock_guard lock(mu_);
  calls_.clear();
}

std::map<std::string, ChangePollStatus> ChangePoller::status() const {
  std::map<std::string, ChangePollStatus> out;
  for (const auto& [name, t] : targets_) out[name] = t.status;
  return out;
}

void ChangePoller::schedule(Target& t) {
  if (t.timer) loop_.cancel_timer(t.timer);
  const std::string name = t.repo.name;
  const uint64_t generation = t.generation;
  const int64_t delay = std::max(t.repo.poll_ms, kMinIntervalMs);
  t.timer = loop_.call_after(std::chrono::milliseconds(delay), [this, name, generation] {
    auto it = targets_.find(name);
    if (it == targets_.end() || it->second.generation != generation) return;
    it->second.timer = 0;
    poll(it->second);
  });
}

void ChangePoller::poll(Target& t) {
  if (t.busy) return;
  t.busy = true;
  {
    std::lock_guard lock(mu_);
    calls_.push_back(Call{t.repo.name, t.repo.forge, t.token, t.generation, alive_});
  }
  cv_.notify_one();
}

void ChangePoller::work() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !calls_.empty(); });
    if (stop_) return;
    Call c = std::move(calls_.front());
    calls_.pop_front();
    lock.unlock();
    Outcome outcome = call(c);
    loop_.post([this, c, outcome = std::move(outcome)] {
      if (auto a = c.alive.lock(); a && *a) polled(c.name, c.generation, outcome);
    });
    lock.lock();
  }
}

ChangePoller::Outcome ChangePoller::call(const Call& c) {
  Outcome out;
  if (c.token.empty()) {
    out.error = "the forge token's secret '" + c.forge.token + "' is empty";
    return out;
  }
  OpenChangesRequest list = open_changes_request(c.forge, c.token);
  net::ClientRequest req;
  req.method = "GET";
  req.url = list.url;
  req.headers = list.headers;
  req.bearer_token = list.bearer;
  req.timeout = std::chrono::milliseconds(10000);
  req.max_body = kMaxOpenChangesBody;
  net::ClientResponse resp = net::http_request(req);
  if (!resp.ok) {
    out.error = resp.error;
  } else if (resp.status < 200 || resp.status >= 300) {
    out.error =
        c.forge.type + " answered " + std::to_string(resp.status) + ": " + resp.body.substr(0, 200);
  } else if (auto e = decode_open_changes(c.forge, resp.body, out.open)) {
    out.error = *e;
  }
  return out;
}

void ChangePoller::polled(const std::string& name, uint64_t generation, const Outcome& outcome) {
  auto it = targets_.find(name);
  if (it == targets_.end() || it->second.generation != generation) return;
  Target& t = it->second;
  t.busy = false;
  t.status.last_poll_at = hooks_.now_ms();
  schedule(t);
  if (!outcome.error.empty()) {
    if (t.status.last_error != outcome.error)
      log::warn("forge", "changes.poll_failed", {{"repo", name}, {"error", outcome.error}});
    t.status.last_error = outcome.error;
    return;
  }
  if (!t.status.last_error.empty()) log::info("forge", "changes.poll_recovered", {{"repo", name}});
  t.status.last_error.clear();
  t.status.open = static_cast<int64_t>(outcome.open.size());

  const std::string key = change_heads_key(name);
  const std::string& provider = t.repo.forge.type;
  std::map<std::string, std::string> built = store_.runs().repo_heads(key);
  if (!built.count(kPolledMark)) {
    // A repository never polled: its open changes are not news.
    std::map<std::string, std::string> heads = {{kPolledMark, ""}};
    for (const ChangeRequestEvent& c : outcome.open)
      heads[change_label(provider, c.id)] = c.head_sha;
    if (!store_.runs().set_repo_heads(key, heads))
      log::error("forge", "changes.store_failed", {{"repo", name}});
    log::info("forge", "changes.baseline",
              {{"repo", name}, {"open", std::to_string(outcome.open.size())}});
    return;
  }
  // A copy: the hook may reconfigure nothing, but it records heads in the store as it goes.
  const RepositoryConfig repo = t.repo;
  std::set<std::string> listed;
  for (const ChangeRequestEvent& c : outcome.open) {
    const std::string label = change_label(provider, c.id);
    listed.insert(label);
    auto seen = built.find(label);
    if (seen != built.end() && seen->second == c.head_sha) continue;
    PushEvent event;
    event.provider = provider;
    event.event = "change_request";
    event.change = c;
    event.change.action = seen == built.end() ? "opened" : "synchronize";
    event.ref = c.head_ref;
    event.after = c.head_sha;
    log::info("forge", "changes.found",
              {{"repo", name}, {"change", label}, {"head", c.head_sha.substr(0, 12)}});
    hooks_.change(repo, event);
  }
  // Past one page, a change not listed may be on the next: only a short list says what closed.
  if (outcome.open.size() >= kMaxOpenChanges) return;
  for (const auto& [label, sha] : built) {
    if (label == kPolledMark || listed.count(label)) continue;
    PushEvent event;
    event.provider = provider;
    event.event = "change_request";
    event.change.action = "closed";
    event.change.id = label.substr(label.find('-') + 1);
    log::info("forge", "changes.gone", {{"repo", name}, {"change", label}});
    hooks_.change(repo, event);
  }
}

}  // namespace gantry::controller
