// The audit log: entries are only ever inserted, each chained by hash to the
// one before (audit.hpp). Nothing here updates or deletes a row.
#include "audit.hpp"
#include "gantry/common/log.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

Status AuditStore::append_audit(AuditRecord& entry) {
  audit_normalize(entry);
  AuditRecord appended = entry;
  // One transaction: reading the head and inserting after it must not be
  // split by another writer (another controller on the same file).
  Status ok = db_.transaction([&] {
    Statement head = db_.prepare("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
    int64_t last_id = 0;
    std::string last_hash{kAuditGenesisHash};
    if (head.next()) {
      last_id = head.int64(0);
      last_hash = head.text(1);
    }
    if (!db_.outcome(head.ok(), "read the audit log")) return false;
    // The id is chosen here, not by SQLite, because the hash covers it.
    appended.id = last_id + 1;
    appended.prev_hash = last_hash;
    appended.hash = audit_hash(appended);
    Statement st = db_.prepare(
        "INSERT INTO audit (id, at, actor, action, subject, details, prev_hash, hash) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    st.bind(1, appended.id).bind(2, appended.at).bind(3, appended.actor);
    st.bind(4, appended.action).bind(5, appended.subject);
    st.bind(6, encode_string_map(appended.details));
    st.bind(7, appended.prev_hash).bind(8, appended.hash);
    return db_.outcome(st.run(), "append to the audit log").has_value();
  });
  if (ok) entry = std::move(appended);
  return ok;
}

std::vector<AuditRecord> AuditStore::audit_entries(int64_t after_id, size_t limit) {
  Statement st = db_.prepare(
      "SELECT id, at, actor, action, subject, details, prev_hash, hash FROM audit "
      "WHERE id > ?1 ORDER BY id LIMIT ?2");
  st.bind(1, after_id).bind(2, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  while (st.next()) {
    AuditRecord e;
    e.id = st.int64(0);
    e.at = st.int64(1);
    e.actor = st.text(2);
    e.action = st.text(3);
    e.subject = st.text(4);
    std::string details = st.text(5);
    // Details not exactly as append_audit wrote them (unreadable, or an
    // extra member the map would drop) are shown as stored, and then no
    // longer match the entry's hash: the stored bytes are what is verified.
    if (!decode_string_map(details, e.details) || encode_string_map(e.details) != details) {
      log::warn("store", "audit.bad_details", {{"entry", std::to_string(e.id)}});
      e.details = {{"(stored)", details}};
    }
    e.prev_hash = st.text(6);
    e.hash = st.text(7);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace gantry::controller
