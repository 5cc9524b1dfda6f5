// Locks and milestones (coordination.hpp).
#include "scheduler/coordination.hpp"

#include <algorithm>

namespace gantry::controller {

std::string describe(const LockRequest& request) {
  if (!request.label.empty())
    return "[Label: " + request.label + ", Quantity: " +
           (request.quantity == 0 ? std::string("all") : std::to_string(request.quantity)) + "]";
  return "[" + request.resource + "]";
}

void LockTable::declare(const std::vector<LockResource>& resources, int64_t now) {
  for (auto& [name, r] : resources_) {
    if (!r.declared) continue;
    r.declared = false;
    r.labels.clear();
    r.rank = next_rank_++;
  }
  for (size_t i = 0; i < resources.size(); ++i) {
    Resource& r = resources_[resources[i].name];
    r.declared = true;
    r.labels = resources[i].labels;
    r.rank = i;
  }
  grant(now);
  drop_unused();
}

std::string LockTable::check(const LockRequest& want) const {
  if (!want.resource.empty() && !want.label.empty())
    return "either a resource or a label, not both";
  if (want.resource.empty() && want.label.empty()) return "no resource or label named";
  if (want.quantity < 0) return "the quantity is a whole number from 0 (0: all)";
  if (want.label.empty()) return "";
  const size_t n = candidates(want).size();
  if (n == 0)
    return "no lockable resource has the label '" + want.label +
           "' (resources with labels are declared under locks: in the controller config)";
  if (static_cast<uint64_t>(want.quantity) > n)
    return "the label '" + want.label + "' has " + std::to_string(n) + " resource(s), " +
           std::to_string(want.quantity) + " asked";
  return "";
}

std::vector<std::string> LockTable::candidates(const LockRequest& want) const {
  if (want.label.empty()) return {want.resource};
  std::vector<std::pair<size_t, std::string>> ranked;
  for (const auto& [name, r] : resources_) {
    if (std::find(r.labels.begin(), r.labels.end(), want.label) != r.labels.end())
      ranked.emplace_back(r.rank, name);
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (auto& [rank, name] : ranked) out.push_back(std::move(name));
  return out;
}

size_t LockTable::needed(const LockRequest& want) const {
  if (want.label.empty()) return 1;
  return want.quantity == 0 ? candidates(want).size() : static_cast<size_t>(want.quantity);
}

std::vector<const LockTable::Waiter*> LockTable::order() const {
  std::vector<const Waiter*> out;
  for (const Waiter& w : queue_) out.push_back(&w);
  // Arrival order; inversePrecedence requests go first, the newest of them first.
  std::stable_sort(out.begin(), out.end(), [](const Waiter* a, const Waiter* b) {
    if (a->want.inverse != b->want.inverse) return a->want.inverse;
    return a->want.inverse && a->at > b->at;
  });
  return out;
}

void LockTable::grant(int64_t now) {
  std::set<std::string> reserved;  // wanted by an earlier waiter: later ones keep off
  std::set<std::string> granted;
  for (const Waiter* w : order()) {
    const std::vector<std::string> wanted = candidates(w->want);
    std::vector<std::string> picked;
    const size_t n = needed(w->want);
    for (const std::string& name : wanted) {
      if (picked.size() == n) break;
      auto it = resources_.find(name);
      if (it != resources_.end() && it->second.holder.empty() && !reserved.count(name))
        picked.push_back(name);
    }
    if (n == 0 || picked.size() < n) {
      reserved.insert(wanted.begin(), wanted.end());
      continue;
    }
    for (const std::string& name : picked) {
      Resource& r = resources_[name];
      r.holder = w->holder;
      r.run_id = w->run_id;
      r.since = now;
    }
    held_[w->holder] = Holding{w->run_id, now, describe(w->want), picked};
    granted.insert(w->holder);
  }
  std::erase_if(queue_, [&](const Waiter& w) { return granted.count(w.holder) != 0; });
}

LockTable::Answer LockTable::waiting_answer(const Waiter& w) const {
  Answer a;
  a.queued = true;
  const std::vector<std::string> mine = candidates(w.want);
  auto overlaps = [&](const Waiter& other) {
    for (const std::string& name : candidates(other.want)) {
      if (std::find(mine.begin(), mine.end(), name) != mine.end()) return true;
    }
    return false;
  };
  for (const Waiter* other : order()) {
    if (other->holder == w.holder) break;
    if (overlaps(*other)) ++a.ahead;
  }
  for (const std::string& name : mine) {
    auto it = resources_.find(name);
    if (it != resources_.end() && !it->second.holder.empty()) {
      a.holder = "run " + std::to_string(it->second.run_id);
      break;
    }
  }
  return a;
}

LockTable::Answer LockTable::position(const std::string& holder) const {
  for (const Waiter& w : queue_) {
    if (w.holder == holder) return waiting_answer(w);
  }
  Answer a;
  if (auto h = held_.find(holder); h != held_.end()) {
    a.acquired = true;
    a.resources = h->second.resources;
  }
  return a;
}

LockTable::Answer LockTable::acquire(const std::string& holder, int64_t run_id,
                                     const LockRequest& request, int64_t now) {
  if (auto h = held_.find(holder); h != held_.end()) {
    Answer a;
    a.acquired = true;
    a.resources = h->second.resources;
    return a;
  }
  Answer a;
  a.error = check(request);
  if (!a.error.empty()) {
    release(holder, now);  // a waiter whose label went away with a reload
    return a;
  }
  const bool queued = std::any_of(queue_.begin(), queue_.end(),
                                  [&](const Waiter& w) { return w.holder == holder; });
  if (!queued) {
    if (!request.resource.empty() && !resources_.count(request.resource))
      resources_[request.resource].rank = next_rank_++;
    queue_.push_back(Waiter{holder, run_id, request, now});
    grant(now);
  }
  a = position(holder);
  if (!a.acquired && request.skip_if_locked) {
    release(holder, now);
    a.queued = false;
  }
  return a;
}

void LockTable::drop_unused() {
  std::set<std::string> wanted;
  for (const Waiter& w : queue_) {
    if (!w.want.resource.empty()) wanted.insert(w.want.resource);
  }
  std::erase_if(resources_, [&](const auto& entry) {
    const Resource& r = entry.second;
    return !r.declared && r.holder.empty() && !wanted.count(entry.first);
  });
}

void LockTable::release(const std::string& holder, int64_t now) {
  std::erase_if(queue_, [&](const Waiter& w) { return w.holder == holder; });
  if (auto h = held_.find(holder); h != held_.end()) {
    for (const std::string& name : h->second.resources) {
      auto it = resources_.find(name);
      if (it == resources_.end() || it->second.holder != holder) continue;
      it->second.holder.clear();
      it->second.run_id = 0;
      it->second.since = 0;
    }
    held_.erase(h);
  }
  // The next ones get them now; their agents hear on their next ask.
  grant(now);
  drop_unused();
}

void LockTable::release_job(const std::string& job_id, int64_t now) {
  const std::string prefix = job_id + "#";
  std::set<std::string> holders;
  for (const auto& [holder, h] : held_) {
    if (holder.starts_with(prefix)) holders.insert(holder);
  }
  for (const Waiter& w : queue_) {
    if (w.holder.starts_with(prefix)) holders.insert(w.holder);
  }
  for (const std::string& h : holders) release(h, now);
}

std::vector<LockTable::ResourceState> LockTable::state() const {
  std::vector<ResourceState> out;
  const std::vector<const Waiter*> waiting = order();
  for (const auto& [name, r] : resources_) {
    ResourceState s{name, r.labels, r.declared, r.run_id, r.holder, r.since, {}};
    for (const Waiter* w : waiting) {
      const std::vector<std::string> wanted = candidates(w->want);
      if (std::find(wanted.begin(), wanted.end(), name) != wanted.end())
        s.waiting_runs.push_back(w->run_id);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<LockTable::RequestState> LockTable::holders() const {
  std::vector<RequestState> out;
  for (const auto& [holder, h] : held_)
    out.push_back(RequestState{holder, h.run_id, h.wanted, h.resources, h.since});
  return out;
}

std::vector<LockTable::RequestState> LockTable::waiters() const {
  std::vector<RequestState> out;
  for (const Waiter* w : order())
    out.push_back(RequestState{w->holder, w->run_id, describe(w->want), {}, w->at});
  return out;
}

MilestoneTable::Verdict MilestoneTable::pass(
    const std::string& job, int64_t run_id, int64_t number, std::optional<int> ordinal,
    const std::vector<std::pair<int64_t, int64_t>>& unfinished) {
  Verdict v;
  auto reached = reached_.find(run_id);
  const int previous = reached == reached_.end() ? 0 : reached->second;
  v.ordinal = ordinal ? *ordinal : previous + 1;
  std::map<int, Passed>& passed = newest_[job];
  // A newer run already passed this milestone, or a later one: this run is superseded.
  for (auto it = passed.lower_bound(v.ordinal); it != passed.end(); ++it) {
    if (it->second.number > number) {
      v.reason = "superseded: run #" + std::to_string(it->second.number) +
                 " already passed milestone " + std::to_string(it->first);
      return v;
    }
  }
  v.pass = true;
  Passed& here = passed[v.ordinal];
  if (number >= here.number) here = Passed{number, run_id};
  reached_[run_id] = std::max(previous, v.ordinal);
  for (const auto& [id, n] : unfinished) {
    if (id == run_id || n >= number) continue;
    auto r = reached_.find(id);
    if (r == reached_.end() || r->second < v.ordinal) v.cancel.push_back(id);
  }
  return v;
}

void MilestoneTable::forget_run(int64_t run_id) {
  reached_.erase(run_id);
}

}  // namespace gantry::controller
