#include "job_control.hpp"

#include <signal.h>

#include <algorithm>

namespace gantry::agent {

JobControl::JobControl(std::chrono::milliseconds grace, std::string cookie)
    : grace_(grace), cookie_(std::move(cookie)) {}

JobControl::~JobControl() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void JobControl::start_watchdog_locked() {
  if (!watchdog_.joinable()) watchdog_ = std::thread([this] { watch(); });
}

void JobControl::stop(StopKind kind, const std::string& reason, std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (kind_ == StopKind::None || (kind == StopKind::Fenced && kind_ != StopKind::Fenced)) {
      kind_ = kind;
      reason_ = reason;
    }
    halted_ = true;
    request_kill_locked(kind == StopKind::Fenced ? std::chrono::milliseconds(0) : grace);
  }
  cv_.notify_all();
  // A graceful kill may be under way with a long grace: a fence cannot wait.
  if (kind == StopKind::Fenced) signal_cookie_holders(cookie_, SIGKILL);
}

void JobControl::set_deadline(Clock::time_point when, std::string reason) {
  {
    std::lock_guard lock(mu_);
    has_deadline_ = true;
    deadline_ = when;
    start_watchdog_locked();
    deadline_reason_ = std::move(reason);
  }
  cv_.notify_all();
}

void JobControl::clear_deadline() {
  std::lock_guard lock(mu_);
  has_deadline_ = false;
}

void JobControl::begin_post() {
  std::lock_guard lock(mu_);
  if (kind_ != StopKind::Fenced) halted_ = false;
  scopes_.clear();
}

StopKind JobControl::stop_kind() const {
  std::lock_guard lock(mu_);
  return kind_;
}

std::string JobControl::stop_reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

bool JobControl::halted() const {
  std::lock_guard lock(mu_);
  return halted_;
}

int JobControl::push_scope(Clock::time_point deadline) {
  int id;
  {
    std::lock_guard lock(mu_);
    id = next_scope_++;
    scopes_.push_back(Scope{id, deadline, false});
    start_watchdog_locked();
  }
  cv_.notify_all();
  return id;
}

bool JobControl::pop_scope(int id) {
  std::lock_guard lock(mu_);
  auto it =
      std::find_if(scopes_.begin(), scopes_.end(), [id](const Scope& s) { return s.id == id; });
  if (it == scopes_.end()) return false;
  bool expired = it->expired;
  scopes_.erase(it);
  return expired;
}

bool JobControl::interrupted() const {
  std::lock_guard lock(mu_);
  return interrupted_locked();
}

bool JobControl::interrupted_locked() const {
  return halted_ ||
         std::any_of(scopes_.begin(), scopes_.end(), [](const Scope& s) { return s.expired; });
}

void JobControl::attach(Process* process) {
  {
    std::lock_guard lock(mu_);
    if (processes_.empty()) kill_requested_ = false;  // a stale request for an earlier step
    processes_.push_back(process);
    // Stopped between the check before start() and now: kill it at once.
    if (interrupted_locked()) request_kill_locked(grace_);
  }
  cv_.notify_all();
}

void JobControl::detach(Process* process) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !killing_; });
  std::erase(processes_, process);
  if (processes_.empty()) kill_requested_ = false;
}

bool JobControl::sleep_until(Clock::time_point when) {
  std::unique_lock lock(mu_);
  return !cv_.wait_until(lock, when, [this] { return interrupted_locked(); });
}

void JobControl::request_kill_locked(std::chrono::milliseconds grace) {
  if (kill_requested_) grace = std::min(grace, kill_grace_);
  kill_requested_ = true;
  kill_grace_ = grace;
  start_watchdog_locked();
}

void JobControl::watch() {
  std::unique_lock lock(mu_);
  while (!quit_) {
    auto now = Clock::now();
    bool fired = false;
    if (has_deadline_ && now >= deadline_) {
      has_deadline_ = false;
      if (kind_ == StopKind::None) {
        kind_ = StopKind::Timeout;
        reason_ = deadline_reason_;
      }
      halted_ = true;
      request_kill_locked(grace_);
      fired = true;
    }
    for (Scope& s : scopes_) {
      if (!s.expired && now >= s.deadline) {
        s.expired = true;
        request_kill_locked(grace_);
        fired = true;
      }
    }
    if (fired) cv_.notify_all();  // wakes sleepers
    if (kill_requested_ && !processes_.empty() && !killing_) {
      std::vector<Process*> victims = processes_;
      auto grace = kill_grace_;
      kill_requested_ = false;
      killing_ = true;
      lock.unlock();
      for (Process* p : victims) p->terminate_tree(grace);
      lock.lock();
      killing_ = false;
      cv_.notify_all();
      continue;
    }
    auto next = Clock::time_point::max();
    if (has_deadline_) next = deadline_;
    for (const Scope& s : scopes_) {
      if (!s.expired) next = std::min(next, s.deadline);
    }
    if (next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
  }
}

}  // namespace gantry::agent
