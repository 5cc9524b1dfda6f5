#pragma once
// A controller that does not lead (docs/ha.md, SPEC §14): controllers sharing PostgreSQL start
// here and wait for the leader's lease. Until they hold it they build nothing else (no store
// writes, no scheduler, no agent sessions) and their port answers:
//   /livez    200: the process serves (liveness);
//   /healthz  503 {"status": "follower", "role": "follower", "leader": URL, "term"}: not ready,
//             so a load balancer or a Kubernetes Service sends traffic to the leader only;
//   /metrics  gantry_leader 0, the leader's term and the age of its last renewal;
//   anything else (the API, the web page, agents' and watchers' WebSockets): 307 to the same
//             path on the leader (method and body kept), or 503 with Retry-After while nobody
//             leads (the lease expired and no controller took it yet).
// It polls the lease every fifth of its length and takes it once it has expired; then
// on_leader() runs (main stops this server and builds the Controller on the same port).
//
// Threading: the EventLoop's thread; the loop must outlive the Follower.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "store/leader_lease.hpp"

namespace gantry::controller {

// The /metrics lines of leadership, for a leader and a follower alike: gantry_leader (1|0),
// gantry_leader_term and gantry_lease_age_seconds.
std::string leadership_metrics(bool leads, int64_t term, double lease_age_seconds);

class Follower {
 public:
  Follower(net::EventLoop& loop, LeaderLease& lease, net::ServerOptions server,
           std::function<void()> on_leader);
  ~Follower();
  Follower(const Follower&) = delete;
  Follower& operator=(const Follower&) = delete;

  // Tries the lease at once: when it is free, on_leader runs before start returns and no port is
  // opened. Otherwise listens and polls. False with `error` when the port cannot be opened.
  bool start(std::string& error);
  void stop();
  uint16_t port() const;

 private:
  net::Response answer(const net::Request& head) const;
  void poll();

  net::EventLoop& loop_;
  LeaderLease& lease_;
  net::ServerOptions options_;
  std::function<void()> on_leader_;
  std::unique_ptr<net::HttpServer> server_;
  uint64_t timer_ = 0;
  LeaseHolder leader_;  // as last read
  bool known_ = false;  // leader_ was read at least once
  bool led_ = false;    // on_leader ran
};

}  // namespace gantry::controller
