#pragma once
// The audit log from the services' side: records an entry in the store's
// hash-chained table (audit.hpp) and one `comp=audit` line in the daemon
// log; lists entries; verifies the chain. Refusals are rate-limited per
// principal (anyone with a token can cause them, so they must not grow the
// table, or the cost of verifying it, without bound): past kRefusalsPerWindow
// in a minute, they are counted and recorded as one summary entry.
// Verification is incremental: entries verified once are not hashed again
// for kFullVerifyEveryMs (then the whole chain is walked again, to catch an
// edit of old rows), so repeated verifies cost only the new tail.
//
// Threading: the controller's loop thread. No I/O but the store's.

#include <cstdint>
#include <map>
#include <string>

#include "audit.hpp"
#include "auth.hpp"
#include "gantry/common/result.hpp"
#include "service/clock.hpp"
#include "store/store.hpp"

namespace gantry::controller {

class AuditLog {
 public:
  static constexpr int kRefusalsPerWindow = 20;
  static constexpr int64_t kWindowMs = 60'000;
  static constexpr int64_t kFullVerifyEveryMs = 60'000;

  AuditLog(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Appends an entry. A store failure is logged and returned; callers that
  // must not act unaudited check it.
  Status record(const std::string& actor, const std::string& action, const std::string& subject,
                const std::map<std::string, std::string>& details = {});
  // A request refused for want of a permission ("permission.denied").
  void refused(const Principal& who, const std::string& subject, const std::string& reason,
               std::map<std::string, std::string> details = {});
  // Entries with ids above `after`, at most `limit` (clamped), as API JSON.
  Result<std::string> list_json(int64_t after, size_t limit);
  Result<AuditVerification> verify();

 private:
  struct Window {
    int64_t start = 0;
    int count = 0, suppressed = 0;
  };

  Store& store_;
  const Clock& clock_;
  std::map<std::string, Window> windows_;  // by principal name
  AuditVerifier verifier_;
  int64_t verified_to_ = 0;
  int64_t full_pass_at_ = -1;
};

}  // namespace gantry::controller
