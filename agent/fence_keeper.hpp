#pragma once
// The fence keeper: a small second process, forked by gantry-agent at
// startup (before any thread), that holds the lease fence for the agent when
// the agent cannot. The agent fences its own jobs when the controller stops
// acknowledging heartbeats (3/4 of the lease), but a paused agent (SIGSTOP,
// a frozen VM's process, swapped out) cannot: its steps are other
// processes and keep running while the controller hands the job to another
// agent. So the agent tells the keeper, over a socketpair, which jobs run
// (their GANTRY_JOB_COOKIE) and until when their lease holds (the fence
// deadline on CLOCK_MONOTONIC, which both processes share); the keeper kills
// every process of those jobs (signal_cookie_holders) once the deadline
// passes unrenewed. When the agent exits or dies, the keeper kills what is
// still registered and exits too. research/agent-protocol.md §6.10, G1.
//
// Messages are single datagrams (SOCK_SEQPACKET): "D<ms>", "+<cookie>",
// "-<cookie>". Sends never block: a keeper that cannot keep up is logged.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace gantry::agent {

class FenceKeeper {
 public:
  // Forks the keeper. Call before any thread starts. Throws
  // std::runtime_error when it cannot (a startup error).
  static std::unique_ptr<FenceKeeper> start();
  ~FenceKeeper();  // the keeper kills what is still registered, and exits
  FenceKeeper(const FenceKeeper&) = delete;
  FenceKeeper& operator=(const FenceKeeper&) = delete;

  void deadline(int64_t mono_ms);  // the fence deadline of every registered job
  void add(const std::string& cookie);
  void remove(const std::string& cookie);
  pid_t pid() const { return pid_; }

 private:
  FenceKeeper(int fd, pid_t pid) : fd_(fd), pid_(pid) {}
  void send(const std::string& message);
  int fd_;
  pid_t pid_;
};

}  // namespace gantry::agent
