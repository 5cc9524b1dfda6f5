// A controller waiting for the leader's lease (follower.hpp, docs/ha.md).
#include "service/follower.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

#include "gantry/common/log.hpp"

namespace gantry::controller {

using json = nlohmann::json;

std::string leadership_metrics(bool leads, int64_t term, double lease_age_seconds) {
  char age[32];
  std::snprintf(age, sizeof age, "%.3f", lease_age_seconds);
  return std::string(
             "# HELP gantry_leader Whether this controller leads (1) or follows (0).\n"
             "# TYPE gantry_leader gauge\ngantry_leader ") +
         (leads ? "1" : "0") +
         "\n# HELP gantry_leader_term The leader's term.\n"
         "# TYPE gantry_leader_term gauge\ngantry_leader_term " +
         std::to_string(term) +
         "\n# HELP gantry_lease_age_seconds Time since the leader's lease was last renewed.\n"
         "# TYPE gantry_lease_age_seconds gauge\ngantry_lease_age_seconds " +
         age + "\n";
}

Follower::Follower(net::EventLoop& loop, LeaderLease& lease, net::ServerOptions server,
                   std::function<void()> on_leader)
    : loop_(loop), lease_(lease), options_(std::move(server)), on_leader_(std::move(on_leader)) {}

Follower::~Follower() {
  stop();
}

bool Follower::start(std::string& error) {
  poll();
  if (led_) return true;
  auto answer = [this](const net::Request& r) { return this->answer(r); };
  // Every request is answered from its head: no body is read, no WebSocket accepted.
  server_ = std::make_unique<net::HttpServer>(
      loop_, options_, answer, nullptr,
      [answer](const net::Request& head) -> std::optional<net::Response> { return answer(head); });
  if (!server_->start(error)) return false;
  const int64_t every = std::max<int64_t>(200, lease_.lease_ms() / 5);
  timer_ = loop_.call_every(std::chrono::milliseconds(every), [this] { poll(); });
  log::info("leader", "following",
            {{"address", options_.host + ":" + std::to_string(server_->port())},
             {"leader", leader_.address},
             {"term", std::to_string(leader_.term)}});
  return true;
}

void Follower::stop() {
  if (timer_) loop_.cancel_timer(timer_);
  timer_ = 0;
  if (server_) server_->stop();
}

uint16_t Follower::port() const {
  return server_ ? server_->port() : 0;
}

void Follower::poll() {
  if (led_) return;
  Result<bool> took = lease_.try_acquire();
  if (took && *took) {
    led_ = true;
    stop();
    on_leader_();
    return;
  }
  Result<LeaseHolder> holder = took ? lease_.current() : Result<LeaseHolder>(took.error());
  if (!holder) {
    if (known_) log::warn("leader", "lease.unreadable", {{"error", holder.error().message}});
    known_ = false;
    return;
  }
  if (!known_ || holder->term != leader_.term)
    log::info("leader", "leader",
              {{"term", std::to_string(holder->term)}, {"address", holder->address}});
  leader_ = *holder;
  known_ = true;
}

net::Response Follower::answer(const net::Request& head) const {
  net::Response r;
  // The leader as last read, unless its lease has run out since or it is this very address
  // (a previous process of this controller, whose lease has not expired yet).
  const bool leads = known_ && leader_.expires_in_ms > 0 && !leader_.address.empty() &&
                     leader_.address != lease_.address();
  if (head.path == "/livez") {
    r.body = R"({"status":"ok"})";
    return r;
  }
  if (head.path == "/healthz") {
    json j{{"status", "follower"}, {"role", "follower"}, {"term", leader_.term}};
    if (leads) j["leader"] = leader_.address;
    r.status = 503;
    r.body = j.dump();
    return r;
  }
  if (head.path == "/metrics" && head.method == "GET") {
    r.content_type = "text/plain; version=0.0.4";
    r.body = leadership_metrics(false, leader_.term,
                                static_cast<double>(leader_.renewed_ago_ms) / 1000.0);
    return r;
  }
  if (leads) {
    r.status = 307;
    r.headers.push_back({"Location", leader_.address + head.target});
    r.body = json{{"error",
                   {{"code", "not_leader"},
                    {"message", "this controller follows; the leader is at " + leader_.address}}}}
                 .dump();
    return r;
  }
  r.status = 503;
  r.headers.push_back({"Retry-After", "1"});
  r.body = json{{"error",
                 {{"code", "unavailable"},
                  {"message",
                   "no controller leads right now (a new leader is taking over): "
                   "retry in a second"}}}}
               .dump();
  return r;
}

}  // namespace gantry::controller
