// The leader's lease on PostgreSQL (leader_lease.hpp, docs/ha.md).
#include "store/leader_lease.hpp"

#include <algorithm>

#include "gantry/common/log.hpp"
#include "store/database.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

LeaderLease::LeaderLease(const std::string& url, std::string holder, std::string address,
                         int64_t lease_ms)
    : db_(open_database("", url)),
      holder_(std::move(holder)),
      address_(std::move(address)),
      lease_ms_(lease_ms) {
  db_->set_statement_deadline(statement_deadline_ms());
}

LeaderLease::~LeaderLease() = default;

int64_t LeaderLease::statement_deadline_ms() const {
  return std::clamp<int64_t>(lease_ms_ / 2, 2000, 10000);
}

Result<bool> LeaderLease::try_acquire() {
  // One statement: the row lock orders two controllers trying at once, and `now()` is the
  // database's clock, the only one all controllers share.
  Statement st = db_->prepare(R"sql(
UPDATE leader_lease SET holder = ?1, address = ?2, term = term + 1,
  expires_at = now() + ?3 * interval '1 millisecond', renewed_at = now()
WHERE id = 1 AND (expires_at < now() OR holder = '')
RETURNING term)sql");
  st.bind(1, holder_).bind(2, address_).bind(3, lease_ms_);
  if (st.next()) {
    term_ = st.int64(0);
    st.run();
    log::info("leader", "acquired", {{"term", std::to_string(term_)}, {"holder", holder_}});
    return true;
  }
  if (!st.ok()) return db_->failure("take the leader's lease");
  return false;
}

Result<bool> LeaderLease::renew() {
  Statement st = db_->prepare(R"sql(
UPDATE leader_lease SET expires_at = now() + ?3 * interval '1 millisecond', renewed_at = now(),
  address = ?4
WHERE id = 1 AND holder = ?1 AND term = ?2)sql");
  st.bind(1, holder_).bind(2, term_).bind(3, lease_ms_).bind(4, address_);
  if (!st.run()) return db_->failure("renew the leader's lease");
  return db_->changes() == 1;
}

void LeaderLease::release() {
  if (term_ == 0) return;
  Statement st = db_->prepare(R"sql(
UPDATE leader_lease SET expires_at = 'epoch'
WHERE id = 1 AND holder = ?1 AND term = ?2)sql");
  st.bind(1, holder_).bind(2, term_);
  if (st.run() && db_->changes() == 1)
    log::info("leader", "released", {{"term", std::to_string(term_)}});
}

Result<LeaseHolder> LeaderLease::current() {
  Statement st = db_->prepare(R"sql(
SELECT holder, address, term,
  CAST(EXTRACT(EPOCH FROM (expires_at - now())) * 1000 AS BIGINT),
  CAST(EXTRACT(EPOCH FROM (now() - renewed_at)) * 1000 AS BIGINT)
FROM leader_lease WHERE id = 1)sql");
  if (st.next()) {
    LeaseHolder h{st.text(0), st.text(1), st.int64(2), st.int64(3), st.int64(4)};
    st.run();
    return h;
  }
  if (!st.ok()) return db_->failure("read the leader's lease");
  return make_error(Errc::Internal, "the leader_lease row is missing");
}

}  // namespace gantry::controller
