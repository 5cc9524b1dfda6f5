// Locks and milestones (coordination.hpp).
#include "scheduler/coordination.hpp"

#include <algorithm>

namespace gantry::controller {

std::vector<const LockTable::Waiter*> LockTable::order(const Resource& r) {
  std::vector<const Waiter*> out;
  for (const Waiter& w : r.queue) out.push_back(&w);
  // Arrival order; inversePrecedence requests go first, the newest of them first.
  std::stable_sort(out.begin(), out.end(), [](const Waiter* a, const Waiter* b) {
    if (a->inverse != b->inverse) return a->inverse;
    return a->inverse && a->at > b->at;
  });
  return out;
}

void LockTable::grant(Resource& r, int64_t now) {
  if (!r.holder.empty() || r.queue.empty()) return;
  const Waiter* first = order(r).front();
  r.holder = first->holder;
  r.run_id = first->run_id;
  r.since = now;
  const std::string holder = first->holder;
  std::erase_if(r.queue, [&](const Waiter& w) { return w.holder == holder; });
}

LockTable::Answer LockTable::acquire(const std::string& holder, int64_t run_id,
                                     const std::string& resource, bool inverse_precedence,
                                     int64_t now) {
  Resource& r = resources_[resource];
  Answer a;
  a.resource = resource;
  if (r.holder == holder) {
    a.acquired = true;
    return a;
  }
  const bool queued = std::any_of(r.queue.begin(), r.queue.end(),
                                  [&](const Waiter& w) { return w.holder == holder; });
  if (!queued) r.queue.push_back(Waiter{holder, run_id, now, inverse_precedence});
  grant(r, now);
  if (r.holder == holder) {
    a.acquired = true;
    return a;
  }
  for (const Waiter* w : order(r)) {
    if (w->holder == holder) break;
    ++a.ahead;
  }
  a.holder = "run " + std::to_string(r.run_id);
  return a;
}

void LockTable::drop_unused(const std::string& name) {
  auto it = resources_.find(name);
  if (it != resources_.end() && it->second.holder.empty() && it->second.queue.empty())
    resources_.erase(it);
}

void LockTable::release(const std::string& holder, int64_t now) {
  std::vector<std::string> touched;
  for (auto& [name, r] : resources_) {
    std::erase_if(r.queue, [&](const Waiter& w) { return w.holder == holder; });
    if (r.holder == holder) {
      r.holder.clear();
      r.run_id = 0;
      // The next one gets it now; its agent hears on its next ask.
      grant(r, now);
    }
    touched.push_back(name);
  }
  for (const std::string& name : touched) drop_unused(name);
}

void LockTable::release_job(const std::string& job_id, int64_t now) {
  const std::string prefix = job_id + "#";
  std::set<std::string> holders;
  for (const auto& [name, r] : resources_) {
    if (r.holder.starts_with(prefix)) holders.insert(r.holder);
    for (const Waiter& w : r.queue) {
      if (w.holder.starts_with(prefix)) holders.insert(w.holder);
    }
  }
  for (const std::string& h : holders) release(h, now);
}

std::vector<LockTable::ResourceState> LockTable::state() const {
  std::vector<ResourceState> out;
  for (const auto& [name, r] : resources_) {
    ResourceState s{name, r.run_id, r.holder, r.since, {}};
    for (const Waiter* w : order(r)) s.waiting_runs.push_back(w->run_id);
    out.push_back(std::move(s));
  }
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
