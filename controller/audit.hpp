#pragma once
// The audit log's hash chain (SPEC §7). Each entry carries `prev_hash`, the
// hash of the entry before it (64 zeros for the first), and `hash`, the
// SHA-256 of its own canonical JSON, which includes prev_hash. Editing a
// stored entry breaks its own hash; recomputing that hash breaks the next
// entry's prev_hash; deleting or reordering entries breaks the id sequence or
// a hash. AuditVerifier walks the entries in id order and names the first
// entry that does not hold. What this does not protect against (rewriting the
// whole chain) is in docs/audit.md.
//
// Not responsible for storing entries (Store::append_audit uses these
// functions) nor for deciding what is audited (the service does). Pure
// functions and a plain value type; nlohmann_json stays in audit_json.cpp.
// Safe from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/records.hpp"

namespace gantry::controller {

// The prev_hash of entry 1.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// {"action","actor","at","details":{...},"id","prev_hash","subject"}: keys
// sorted bytewise (details' too), no whitespace, strings in UTF-8 as is
// (only quotes, backslashes and control characters escaped), integers in
// decimal. Bytes that are not valid UTF-8 become U+FFFD (see
// audit_normalize). `hash` itself is not part of it.
std::string audit_canonical_json(const AuditRecord& entry);

// Lowercase hex SHA-256 of audit_canonical_json(entry).
std::string audit_hash(const AuditRecord& entry);

// Replaces what is not valid UTF-8 in the text fields by U+FFFD, as the
// canonical JSON does, so that the bytes stored are the bytes hashed and a
// change to any of them shows.
void audit_normalize(AuditRecord& entry);

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;       // entries seen
  int64_t first_broken = 0;  // the first stored entry that does not hold; 0 when ok
  // Why, naming entries: "hash does not match its contents", "prev_hash does
  // not match entry 17", "entry 5 is missing (ids jump from 4 to 6)".
  std::string reason;
};

// Fed the whole log oldest first, in as many calls as convenient (the
// service pages through the table); keeps only the last entry and the first
// break, so memory stays constant however long the log is.
class AuditVerifier {
 public:
  void add(const AuditRecord& entry);
  const AuditVerification& result() const { return result_; }

 private:
  void fail(int64_t id, std::string reason);

  AuditVerification result_;
  int64_t last_id_ = 0;
  std::string last_hash_{kAuditGenesisHash};
};

// The whole log at once (tests, small logs).
AuditVerification verify_chain(const std::vector<AuditRecord>& entries);

// API bodies (audit_json.cpp): {"entries":[{id, at, actor, action, subject,
// details, prev_hash, hash}]} and {"ok","entries"[,"first_broken","reason"]}.
std::string audit_entries_json(const std::vector<AuditRecord>& entries);
std::string audit_verification_json(const AuditVerification& result);

}  // namespace gantry::controller
