// The pipeline's `options { lock(...) }` (Jenkins holds it for the whole build): the run asks
// for it before its first stage is dispatched and waits, queued, with "waiting for lock ..." as
// its reason; it holds it until it ends. Also the lock table's releases, which may let such a
// run start (scheduler.hpp).
#include <algorithm>
#include <cstdlib>

#include "gantry/common/log.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

namespace {

// A literal as written, or the expression's value with the run's parameters and environment.
std::optional<pipelines::Value> option_value(const RunState& run, const SchedulerOptions& options,
                                             const pipelines::Node& node, std::string& error) {
  switch (node.kind) {
    case pipelines::NodeKind::String:
      return pipelines::Value(node.text);
    case pipelines::NodeKind::Int:
      return pipelines::Value(static_cast<int64_t>(std::atoll(node.text.c_str())));
    case pipelines::NodeKind::Bool:
      return pipelines::Value(node.text == "true");
    default:
      break;
  }
  pipelines::EvalResult r = evaluate_at_stage(run, 0, options, node);
  if (auto* e = std::get_if<pipelines::EvalError>(&r)) {
    error = "options { lock } (" + std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) +
            "): " + e->message;
    return std::nullopt;
  }
  return std::get<pipelines::Value>(r);
}

}  // namespace

std::string Scheduler::run_lock_holder(int64_t run_id) {
  return "run:" + std::to_string(run_id);
}

std::optional<Scheduler::RunLock> Scheduler::run_lock_of(const RunState& run,
                                                         std::string& error) const {
  const pipelines::Step* step = nullptr;
  for (const pipelines::Step& o : run.pipeline.options) {
    if (o.name == "lock") step = &o;
  }
  if (!step) return std::nullopt;
  RunLock lock;
  auto text = [&](const char* key, size_t position, std::string& out) {
    const pipelines::Node* n = step->arg(key, position);
    if (!n) return true;
    auto v = option_value(run, options_, *n, error);
    if (!v) return false;
    out = v->is_null() ? std::string() : v->to_string();
    return true;
  };
  auto flag = [&](const char* key, bool& out) {
    const pipelines::Node* n = step->arg(key, 99);
    if (!n) return true;
    auto v = option_value(run, options_, *n, error);
    if (!v) return false;
    out = v->truthy();
    return true;
  };
  std::string quantity;
  if (!text("resource", 0, lock.want.resource) || !text("label", 99, lock.want.label) ||
      !text("quantity", 99, quantity) || !text("variable", 99, lock.variable) ||
      !flag("inversePrecedence", lock.want.inverse))
    return std::nullopt;
  if (!quantity.empty()) {
    char* end = nullptr;
    lock.want.quantity = std::strtoll(quantity.c_str(), &end, 10);
    if (*end != '\0') {
      error = "options { lock }: quantity '" + quantity + "' is not a whole number";
      return std::nullopt;
    }
  }
  if (std::string why = locks_.check(lock.want); !why.empty()) {
    error = "options { lock }: " + why;
    return std::nullopt;
  }
  return lock;
}

// The run's lock first (after disableConcurrentBuilds let it go): waits queued without it.
void Scheduler::begin_run(RunState& run, int64_t now) {
  const int64_t id = run.run.id;
  auto lock = run_locks_.find(id);
  if (lock != run_locks_.end()) {
    const LockTable::Answer a = locks_.acquire(run_lock_holder(id), id, lock->second.want, now);
    if (!a.error.empty()) {
      // The resources went away with a reload while it waited.
      run.cancel("options { lock }: " + a.error, now);
    } else if (!a.acquired) {
      if (std::find(lock_waiting_.begin(), lock_waiting_.end(), id) == lock_waiting_.end())
        lock_waiting_.push_back(id);
      note_lock_wait(run, a);
      return;
    } else {
      log::info("scheduler", "run.locked",
                {{"run", std::to_string(id)}, {"resources", describe(lock->second.want)}});
    }
  }
  if (run.run.reason.starts_with("waiting for lock ")) {
    run.run.reason.clear();
    run.dirty_run = true;
  }
  apply(run, run.start(now), now);
}

void Scheduler::note_lock_wait(RunState& run, const LockTable::Answer& a) {
  const RunLock& lock = run_locks_.at(run.run.id);
  std::string why = "waiting for lock " + describe(lock.want);
  if (!a.holder.empty()) why += ", held by " + a.holder;
  if (a.ahead > 0) why += "; " + std::to_string(a.ahead) + " ahead";
  if (run.run.reason != why) {
    run.run.reason = std::move(why);
    run.dirty_run = true;
    dirty_.insert(run.run.id);
  }
}

void Scheduler::start_lock_waiting_runs(int64_t now) {
  std::vector<int64_t> ready;
  for (auto it = lock_waiting_.begin(); it != lock_waiting_.end();) {
    auto r = runs_.find(*it);
    if (r == runs_.end() || r->second->finished()) {
      it = lock_waiting_.erase(it);
    } else if (locks_.holds(run_lock_holder(*it))) {
      ready.push_back(*it);
      it = lock_waiting_.erase(it);
    } else {
      note_lock_wait(*r->second, locks_.position(run_lock_holder(*it)));
      ++it;
    }
  }
  for (int64_t id : ready) {
    if (RunState* run = stored_run(id)) begin_run(*run, now);
  }
}

LockTable::Answer Scheduler::acquire_lock(const std::string& holder, int64_t run_id,
                                          const LockRequest& request, int64_t now) {
  LockTable::Answer a = locks_.acquire(holder, run_id, request, now);
  start_lock_waiting_runs(now);
  return a;
}

void Scheduler::release_lock(const std::string& holder, int64_t now) {
  locks_.release(holder, now);
  start_lock_waiting_runs(now);
}

void Scheduler::declare_locks(const std::vector<LockResource>& resources, int64_t now) {
  locks_.declare(resources, now);
  start_lock_waiting_runs(now);
}

void Scheduler::add_lock_env(const RunState& run, std::map<std::string, std::string>& env) const {
  auto lock = run_locks_.find(run.run.id);
  if (lock == run_locks_.end() || lock->second.variable.empty()) return;
  const LockTable::Answer a = locks_.position(run_lock_holder(run.run.id));
  // Jenkins' `variable`: the names joined by commas, and each as VAR0, VAR1, ...
  std::string all;
  for (size_t i = 0; i < a.resources.size(); ++i) {
    all += (i ? "," : "") + a.resources[i];
    env[lock->second.variable + std::to_string(i)] = a.resources[i];
  }
  env[lock->second.variable] = all;
}

}  // namespace gantry::controller
