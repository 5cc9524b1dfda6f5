// Verifying the audit chain, one entry at a time. The canonical JSON and the
// API bodies are in audit_json.cpp.
#include "audit.hpp"

#include "auth.hpp"

namespace gantry::controller {

std::string audit_hash(const AuditRecord& entry) {
  return sha256_hex(audit_canonical_json(entry));
}

void AuditVerifier::fail(int64_t id, std::string reason) {
  result_.ok = false;
  result_.first_broken = id;
  result_.reason = std::move(reason);
}

void AuditVerifier::add(const AuditRecord& entry) {
  ++result_.entries;
  if (!result_.ok) return;  // only the first break is reported; the rest is counted
  const int64_t expected = last_id_ + 1;
  if (entry.id > expected) {
    // The store never skips an id (INTEGER PRIMARY KEY, no deletes): a gap
    // is a deletion.
    std::string which = entry.id == expected + 1 ? "entry " + std::to_string(expected) + " is"
                                                 : "entries " + std::to_string(expected) + " to " +
                                                       std::to_string(entry.id - 1) + " are";
    std::string where = last_id_ == 0 ? "the log starts at " + std::to_string(entry.id)
                                      : "ids jump from " + std::to_string(last_id_) + " to " +
                                            std::to_string(entry.id);
    fail(entry.id, which + " missing (" + where + ")");
    return;
  }
  if (entry.id < expected) {
    fail(entry.id, "entry " + std::to_string(entry.id) + " is out of order (it follows entry " +
                       std::to_string(last_id_) + ")");
    return;
  }
  if (audit_hash(entry) != entry.hash) {
    fail(entry.id, "hash does not match its contents");
    return;
  }
  if (entry.prev_hash != last_hash_) {
    fail(entry.id, last_id_ == 0 ? "prev_hash is not the genesis hash (64 zeros)"
                                 : "prev_hash does not match entry " + std::to_string(last_id_));
    return;
  }
  last_id_ = entry.id;
  last_hash_ = entry.hash;
}

AuditVerification verify_chain(const std::vector<AuditRecord>& entries) {
  AuditVerifier verifier;
  for (const AuditRecord& entry : entries) verifier.add(entry);
  return verifier.result();
}

}  // namespace gantry::controller
