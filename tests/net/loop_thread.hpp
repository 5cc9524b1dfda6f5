#pragma once
// Test support for gantry_net: runs an EventLoop on its own thread and lets the test thread call
// into it. Declare the LoopThread after the servers and clients that live on the loop: it is then
// destroyed first, so they are destroyed with the loop stopped, never concurrently with it.

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <thread>

#include "gantry/net/event_loop.hpp"

namespace gantry::net::test {

class LoopThread {
 public:
  explicit LoopThread(EventLoop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
  ~LoopThread() {
    loop_.stop();
    thread_.join();
  }

  // Runs fn on the loop thread and returns its result (or rethrows its exception).
  template <class F>
  auto call(F fn) {
    using Result = decltype(fn());
    auto task = std::make_shared<std::packaged_task<Result()>>(std::move(fn));
    auto result = task->get_future();
    loop_.post([task] { (*task)(); });
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      throw std::runtime_error("the event loop did not answer within 10 s");
    }
    return result.get();
  }

  // Polls `done` on the loop thread until it returns true; false after `timeout`.
  template <class F>
  bool wait_until(F done, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (call(done)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return call(done);
  }

 private:
  EventLoop& loop_;
  std::thread thread_;
};

}  // namespace gantry::net::test
