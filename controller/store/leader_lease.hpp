#pragma once
// The leader's lease (docs/ha.md, SPEC §14): controllers sharing one PostgreSQL database elect
// one leader through the single row of `leader_lease`, with a term that grows at every change of
// hands. A controller takes the row once it has expired by the database's clock (never its own),
// renews it well inside its expiry, and gives it up when it stops. Its own connection, apart
// from the Store's, so that a follower can poll before it opens anything else and a leader's
// renewal is never stuck behind the store's statements. Same threading as Store: one thread.

#include <cstdint>
#include <memory>
#include <string>

#include "gantry/common/result.hpp"

namespace gantry::controller {

class Database;

struct LeaseHolder {
  std::string holder;         // "" when nobody ever led
  std::string address;        // the URL the holder serves on (its advertise URL)
  int64_t term = 0;           // grows at every change of hands
  int64_t expires_in_ms = 0;  // by the database's clock; <= 0: expired
  int64_t renewed_ago_ms = 0;
};

class LeaderLease {
 public:
  // Connects to url (postgresql://...) and migrates the schema like the Store; throws
  // std::runtime_error when it cannot (a startup error). `holder` names this process (unique per
  // process), `address` is where the others send users and agents, `lease_ms` the lease's length.
  LeaderLease(const std::string& url, std::string holder, std::string address, int64_t lease_ms);
  ~LeaderLease();
  LeaderLease(const LeaderLease&) = delete;
  LeaderLease& operator=(const LeaderLease&) = delete;

  // Takes the lease if it has expired (or was given up): true when this process now leads, at
  // term(). Unavailable when the database cannot be reached.
  Result<bool> try_acquire();
  // Extends the lease by lease_ms from now: false when another controller holds it (this one was
  // deposed and must stop at once).
  Result<bool> renew();
  // Gives the lease up (a clean stop): the next controller need not wait for it to expire.
  void release();
  // Who holds the lease now.
  Result<LeaseHolder> current();

  // How long a statement may wait for the server, for the leader and its store: half the lease
  // (within 2 to 10 s), so that a hung or cut-off database is noticed while the lease lasts.
  int64_t statement_deadline_ms() const;
  const std::string& holder() const { return holder_; }
  const std::string& address() const { return address_; }
  // Where this controller serves, once its port is known (port 0 in the config): written at the
  // next renewal.
  void set_address(std::string address) { address_ = std::move(address); }
  int64_t term() const { return term_; }
  int64_t lease_ms() const { return lease_ms_; }

 private:
  std::unique_ptr<Database> db_;
  std::string holder_, address_;
  int64_t lease_ms_;
  int64_t term_ = 0;
};

}  // namespace gantry::controller
