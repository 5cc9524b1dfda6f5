#pragma once
// A TCP fault proxy on 127.0.0.1 for the fault suite: agents connect to
// port(), the proxy connects each of them on to the target port and moves the
// bytes, unless told otherwise. Faults, each switchable at any time and per
// direction (Up: agent -> controller, Down: controller -> agent):
//   hold      stop moving bytes, keep the connections open: a silent cut
//             (both directions: a partition; one: a one-way loss);
//   delay     forward each chunk only after a fixed delay;
//   throttle  cap the rate in bytes per second;
//   reset     close every connection with an RST (SO_LINGER 0).
// It forwards on its own thread; the setters are safe from the test's.
// There are no netem, iptables or namespaces here: this is the stand-in
// research/agent-protocol.md §6.10 asks for.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace gantry::fault {

enum class Direction { Up = 0, Down = 1 };

class FaultProxy {
 public:
  explicit FaultProxy(uint16_t target);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;

  void blackhole(bool on);  // both directions
  void hold(Direction d, bool on);
  void delay(std::chrono::milliseconds d);    // both directions; 0: none
  void throttle(int64_t bytes_per_second);    // both directions; 0: no cap
  void reset();                               // RST every open connection
  int accepted() const { return accepted_; }  // connections accepted so far

 private:
  struct Settings {
    std::atomic<bool> hold{false};
    std::atomic<int64_t> delay_ms{0};
    std::atomic<int64_t> rate{0};
  };
  void loop();
  void wake();
  uint16_t target_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  Settings dir_[2];
  std::atomic<int> accepted_{0};
  std::atomic<bool> reset_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gantry::fault
