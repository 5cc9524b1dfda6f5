#pragma once
// EventLoop: the one thread on which a Gantry daemon runs all of its network I/O, timers and
// signal handling. Every callback given to gantry_net (HTTP handlers, WebSocket callbacks, timers,
// posted functions) runs on the thread that called run(), so daemon state needs no mutexes.
// It does not own the servers and clients built on it: destroy them on the loop thread, or after
// run() has returned and before the EventLoop itself.
//
// Threading: post() and stop() may be called from any thread. Everything else, including the
// timer functions, must be called on the loop thread (or before run() starts).
// An exception escaping a callback is logged and swallowed; it never stops the loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace gantry::net {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks until stop(); returns then. Call it once: a stopped loop does not run again.
  void run();
  // Thread-safe. run() returns soon after; pending callbacks are dropped.
  void stop();
  // Thread-safe: runs fn on the loop thread.
  void post(std::function<void()> fn);

  // Timers. The returned id is unique and never reused; cancelling a fired or unknown id is a
  // no-op.
  uint64_t call_after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Runs fn every period; a callback that overruns does not cause a burst of catch-up calls.
  uint64_t call_every(std::chrono::milliseconds period, std::function<void()> fn);
  void cancel_timer(uint64_t id);

  // fn(signal_number) on SIGINT and SIGTERM (and SIGHUP with `hangup`), for
  // as long as the loop runs.
  void on_signals(std::function<void(int)> fn, bool hangup = false);

  // The boost::asio::io_context*, for the other gantry_net classes only.
  void* native();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gantry::net
