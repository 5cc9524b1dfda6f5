#include "gantry/net/event_loop.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <thread>
#include <vector>

#include "loop_thread.hpp"

using namespace gantry::net;
using gantry::net::test::LoopThread;
using std::chrono::milliseconds;

TEST_CASE("EventLoop runs posted functions on its thread, surviving exceptions", "[net][loop]") {
  EventLoop loop;
  LoopThread thread(loop);
  auto loop_id = thread.call([] { return std::this_thread::get_id(); });
  CHECK(loop_id != std::this_thread::get_id());

  loop.post([] { throw std::runtime_error("posted bug"); });
  CHECK(thread.call([] { return std::this_thread::get_id(); }) == loop_id);
}

TEST_CASE("EventLoop timers fire, repeat and cancel", "[net][loop]") {
  EventLoop loop;
  std::vector<std::string> fired;  // loop thread only
  int ticks = 0;
  uint64_t repeating = 0;
  LoopThread thread(loop);

  auto start = std::chrono::steady_clock::now();
  auto ids = thread.call([&] {
    uint64_t once = loop.call_after(milliseconds(30), [&] { fired.push_back("after"); });
    uint64_t cancelled = loop.call_after(milliseconds(10), [&] { fired.push_back("cancelled"); });
    repeating = loop.call_every(milliseconds(5), [&] {
      if (++ticks == 3) loop.cancel_timer(repeating);  // a timer may cancel itself
    });
    loop.cancel_timer(cancelled);
    loop.cancel_timer(12345);  // unknown ids are ignored
    return std::vector<uint64_t>{once, cancelled, repeating};
  });
  CHECK(ids[0] != ids[1]);
  CHECK(ids[1] != ids[2]);
  REQUIRE(thread.wait_until([&] { return !fired.empty(); }));
  CHECK(std::chrono::steady_clock::now() - start >= milliseconds(30));
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(thread.call([&] { return fired; }) == std::vector<std::string>{"after"});
  CHECK(thread.call([&] { return ticks; }) == 3);
}

TEST_CASE("EventLoop timer exceptions are contained", "[net][loop]") {
  EventLoop loop;
  int ticks = 0;
  loop.call_every(milliseconds(2), [&] {
    ++ticks;
    throw std::runtime_error("timer bug");
  });
  LoopThread thread(loop);
  CHECK(thread.wait_until([&] { return ticks >= 3; }));
}

TEST_CASE("EventLoop delivers SIGTERM to on_signals", "[net][loop]") {
  EventLoop loop;
  std::vector<int> signals;
  loop.on_signals([&](int signo) { signals.push_back(signo); });  // before the signal is raised
  LoopThread thread(loop);
  ::kill(::getpid(), SIGTERM);
  REQUIRE(thread.wait_until([&] { return !signals.empty(); }));
  CHECK(thread.call([&] { return signals; }) == std::vector<int>{SIGTERM});
}

TEST_CASE("EventLoop::stop ends run from another thread", "[net][loop]") {
  EventLoop loop;
  std::thread runner([&] { loop.run(); });
  loop.stop();
  runner.join();  // hangs (and the test times out) if stop is lost
  SUCCEED();
}
