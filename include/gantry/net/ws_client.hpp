#pragma once
// WsClient: a WebSocket client that stays connected. It connects to a ws:// or wss:// URL (or
// one of several: WsClientOptions::alternates),
// reconnects after every failure or disconnect with full-jitter exponential backoff (a policy the
// caller may change as it goes: backoff_policy), and sends through one queue with one write in
// flight. Text (control) messages overtake queued binary (log) messages. It does not know the
// protocol spoken over it, and does not buffer across connections: the queue is dropped on
// disconnect, so the caller resends from its own sequence numbers.
//
// Threading: all methods and callbacks on the EventLoop's thread. Callbacks are never called
// after the WsClient is destroyed; on_open, on_disconnect and on_refused may destroy it, on_message
// must not (post the destruction instead). start() once; after stop() the client stays stopped.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gantry/net/tls.hpp"

namespace gantry::net {

class EventLoop;

// The delay before a reconnect attempt. Full jitter: U(0, min(cap, base * 2^n)) where n counts
// failed attempts, reset after 60 s of a connection staying up. With `first_at_once`, the first
// attempt after a connection that stayed up at least a second goes without a delay.
struct WsBackoff {
  std::chrono::milliseconds base{500}, cap{30000};
  bool first_at_once = false;
};

struct WsClientOptions {
  std::string url;  // ws:// or wss://host:port/path
  // More URLs of the same service (controllers sharing a database), same scheme as `url`: after
  // each failed attempt (refused, unreachable, upgrade declined) the next one is tried, in turn.
  std::vector<std::string> alternates;
  TlsClientOptions tls;                                      // for wss://
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Authorization
  size_t max_message = 1 << 20;                              // larger incoming -> disconnect
  size_t max_queue = 64 << 20;  // send_* returns false rather than queue past this
  // The backoff (WsBackoff) unless WsClient::backoff_policy says otherwise.
  std::chrono::milliseconds backoff_base{500}, backoff_cap{30000};
  std::chrono::milliseconds connect_timeout{5000};  // resolve + connect + upgrade
};

class WsClient {
 public:
  WsClient(EventLoop& loop, WsClientOptions options);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  std::function<void()> on_open;  // each successful (re)connect
  std::function<void(std::string_view, bool binary)> on_message;
  // After on_open's connection ends, with a reason: "closed <code> <text>" (the server closed),
  // "dropped", "stopped", or the I/O error. Unless stopped, the client then reconnects by itself
  // after a backoff delay. Failed connection attempts are only logged.
  std::function<void(std::string reason)> on_disconnect;
  // The upgrade was refused with this HTTP status (e.g. 401/403): return false to stop
  // reconnecting. Unset: keep trying.
  std::function<bool(int http_status)> on_refused;
  // Asked before every reconnect delay (after on_disconnect), so that the policy can follow the
  // caller's state: an agent holding jobs retries sooner than an idle one. Unset: the options'
  // base and cap, no attempt at once.
  std::function<WsBackoff()> backoff_policy;

  void start();
  void stop();  // sends a close frame and stops reconnecting
  void drop();  // closes the current connection abruptly (tests, fencing); reconnecting continues
  bool connected() const;
  // The URL of the current (or next) attempt, and a move to the next one (with alternates).
  const std::string& url() const;
  void next_url();
  // False if not connected or the queue is full; queued otherwise.
  bool send_text(std::string msg);
  bool send_binary(std::string msg);
  size_t queued_bytes() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight operations, which may outlive this
};

}  // namespace gantry::net
