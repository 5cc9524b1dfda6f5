#pragma once
// ConnectionLimits: the connection caps of ServerOptions, as counters. The accept loop asks
// admit() for a slot for each accepted connection; the slot follows the connection (HTTP session,
// then WebSocket session) and gives its place back when destroyed. A slot is unauthenticated
// until authenticate(): only unauthenticated slots count against the per-address and the
// unauthenticated caps. Refusals are logged at most once per kLogEvery, with counts.
// It does not touch sockets: the caller closes what is refused and pauses accepting while full().
// Loop thread only; slots may outlive the server (they hold the limits by shared_ptr).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "gantry/net/http_server.hpp"

namespace gantry::net {

class ConnectionLimits;

class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ~ConnectionSlot() { release(); }

  explicit operator bool() const { return limits_ != nullptr; }
  // A request of this connection was accepted: it no longer counts as unauthenticated.
  void authenticate();
  bool authenticated() const { return authenticated_; }

 private:
  friend class ConnectionLimits;
  ConnectionSlot(std::shared_ptr<ConnectionLimits> limits, std::string address);
  void release();

  std::shared_ptr<ConnectionLimits> limits_;
  std::string address_;
  bool authenticated_ = false;
};

class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
 public:
  static constexpr std::chrono::seconds kLogEvery{10};

  // `max_connections` already resolved (see descriptor_budget()).
  ConnectionLimits(size_t max_connections, size_t max_unauthenticated,
                   size_t max_unauthenticated_per_address);

  // A slot for a new connection from `address` (an IP address, no port), or an empty slot when a
  // cap is reached (counted and logged).
  ConnectionSlot admit(const std::string& address);
  bool full() const { return connections_ >= max_connections_; }
  // Called when a slot is given back (the accept loop resumes if it was paused).
  std::function<void()> on_release;

  size_t connections() const { return connections_; }
  size_t unauthenticated() const { return unauthenticated_; }
  size_t max_connections() const { return max_connections_; }

 private:
  friend class ConnectionSlot;
  void authenticate(const std::string& address);
  void release(const std::string& address, bool authenticated);
  void refused(const std::string& address, bool per_address);

  const size_t max_connections_, max_unauthenticated_, max_per_address_;
  size_t connections_ = 0;
  size_t unauthenticated_ = 0;
  std::unordered_map<std::string, size_t> per_address_;  // unauthenticated, by address
  // Refusals since the last log line.
  uint64_t refused_per_address_ = 0, refused_unauthenticated_ = 0;
  std::chrono::steady_clock::time_point last_log_{};
  bool logged_ = false;
};

// The connection cap for a descriptor limit: `options.max_connections` if set; otherwise the
// RLIMIT_NOFILE soft limit (first raised to the hard limit) minus max(64, limit / 16).
size_t descriptor_budget(const ServerOptions& options);

}  // namespace gantry::net
