#pragma once
// What can stop a running job, and the thread that makes it happen: a cancel
// or a fence from another thread, the job's own deadline (JobSpec.timeout_ms),
// and the deadlines of nested `timeout` steps ("scopes"). A watchdog thread
// fires deadlines and kills the attached step process tree
// (Process::terminate_tree), so cancel() never blocks its caller and a step
// that prints nothing is still stopped on time. The watchdog starts the
// first time it has something to do (a deadline, a scope, a kill): most jobs
// never need it, and a thread per job is a cost per stage.
//
// Two flags: `stopped` records that the job was cancelled/fenced/timed out
// (the result becomes ABORTED), `halted` says steps must not run now.
// begin_post() lowers `halted` so post blocks can run, except after a fence.
//
// Not responsible for running steps or reporting results (StepRunner,
// JobRunner). Thread-safe; owned by the JobRunner, the runner thread attaches
// each Process it runs for as long as it runs.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace gantry::agent {

enum class StopKind { None, Cancel, Timeout, Fenced };

class JobControl {
 public:
  using Clock = std::chrono::steady_clock;

  // `grace`: how long a step's processes get between SIGTERM and SIGKILL when
  // a deadline fires. `cookie`: the job's GANTRY_JOB_COOKIE, for fences.
  JobControl(std::chrono::milliseconds grace, std::string cookie);
  ~JobControl();
  JobControl(const JobControl&) = delete;
  JobControl& operator=(const JobControl&) = delete;

  // From any thread, never blocks on the child. The first reason is kept; a
  // fence overrides any other stop and also SIGKILLs the job's processes now.
  void stop(StopKind kind, const std::string& reason, std::chrono::milliseconds grace);

  // The job deadline; on expiry the job stops as StopKind::Timeout.
  void set_deadline(Clock::time_point when, std::string reason);
  void clear_deadline();

  // Post blocks may run: lowers `halted` unless the job was fenced.
  void begin_post();

  StopKind stop_kind() const;
  std::string stop_reason() const;
  bool halted() const;  // a job-level stop is in force for steps

  // A `timeout` step's body. pop_scope() returns whether that scope expired.
  int push_scope(Clock::time_point deadline);
  bool pop_scope(int id);

  // halted() or an open scope expired: the current step must end.
  bool interrupted() const;

  // The processes the job's steps run now (one, or one per branch of a
  // scripted `parallel`); the watchdog kills them all on a stop. detach()
  // waits for a kill in progress to finish before returning.
  void attach(Process* process);
  void detach(Process* process);

  // Sleeps until `when`; returns false early when interrupted.
  bool sleep_until(Clock::time_point when);

 private:
  struct Scope {
    int id;
    Clock::time_point deadline;
    bool expired;
  };

  bool interrupted_locked() const;
  void request_kill_locked(std::chrono::milliseconds grace);
  void start_watchdog_locked();
  void watch();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  const std::chrono::milliseconds grace_;
  const std::string cookie_;
  StopKind kind_ = StopKind::None;
  std::string reason_;
  bool halted_ = false;
  bool has_deadline_ = false;
  Clock::time_point deadline_{};
  std::string deadline_reason_;
  std::vector<Scope> scopes_;
  int next_scope_ = 1;
  std::vector<Process*> processes_;
  bool kill_requested_ = false;
  std::chrono::milliseconds kill_grace_{0};
  bool killing_ = false;
  bool quit_ = false;
  std::thread watchdog_;  // started under mu_ by start_watchdog_locked()
};

}  // namespace gantry::agent
