#pragma once
// What the services tell watchers (docs/events.md): runs, stages,
// approvals, releases, agents and committed log bytes. An interface so the
// services can be tested without the live events hub (a recording fake);
// EventPublisher is the real one, on the EventHub (events.hpp).
//
// Threading: the controller's loop thread only.

#include <cstdint>
#include <map>
#include <string>

#include <memory>
#include <optional>

#include "auth.hpp"
#include "gantry/net/http_server.hpp"
#include "model/records.hpp"

namespace gantry::controller {

class EventHub;
class AuditLog;

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void run(const RunRecord& run) = 0;  // only when its status or reason changed
  virtual void stage(const StageRecord& stage) = 0;
  virtual void approval(const ApprovalRecord& a) = 0;
  virtual void release(const ReleaseRecord& r, const std::string& progress) = 0;
  virtual void agent(const std::string& name, const std::string& status) = 0;
  // `committed` bytes of an attempt's log are durable (see EventHub).
  virtual void log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                             const std::string& path, uint64_t committed, bool final) = 0;
  virtual void forget_run(int64_t run_id) = 0;  // it ended and was stored
  virtual void pump() = 0;                      // send clients what they are due
};

class EventPublisher final : public EventSink {
 public:
  explicit EventPublisher(EventHub& hub) : hub_(hub) {}
  void run(const RunRecord& run) override;
  void stage(const StageRecord& stage) override;
  void approval(const ApprovalRecord& a) override;
  void release(const ReleaseRecord& r, const std::string& progress) override;
  void agent(const std::string& name, const std::string& status) override;
  void log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                     const std::string& path, uint64_t committed, bool final) override;
  void forget_run(int64_t run_id) override;
  void pump() override;

 private:
  EventHub& hub_;
  std::map<int64_t, std::string> run_state_;  // run -> what its last run event said
};

// GET /api/v1/events (event_publisher.cpp): authenticates (Bearer header,
// or ?token= since a browser cannot set headers on a WebSocket), checks the
// read permission, parses run/since/logs, and attaches the client.
std::optional<net::Response> accept_events(const net::Request& req, const Authenticator& auth,
                                           AuditLog& audit, EventHub& hub,
                                           std::shared_ptr<net::WsConnection> conn,
                                           net::WsHandlers& handlers);

}  // namespace gantry::controller
