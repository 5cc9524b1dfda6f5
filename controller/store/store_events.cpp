// The live events table (docs/events.md): appended in order, read by id
// (clients' cursors), pruned from the oldest end.
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

Status EventStore::append_event(EventRecord& e) {
  Statement st = db_.prepare(
      "INSERT INTO events (run_id, body, log_stage, log_attempt, log_offset, log_length) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id");
  st.bind(1, e.run_id).bind(2, e.body).bind(3, e.log_stage).bind(4, int64_t{e.log_attempt});
  st.bind(5, static_cast<int64_t>(e.log_offset)).bind(6, static_cast<int64_t>(e.log_length));
  if (!st.next()) return db_.outcome(false, "append an event");
  const int64_t id = st.int64(0);
  if (Status s = db_.outcome(st.run(), "append an event"); !s) return s;
  e.id = id;
  return ok();
}

std::vector<EventRecord> EventStore::events_after(int64_t after_id, int64_t run_id, size_t limit) {
  Statement st = db_.prepare(
      run_id == 0
          ? "SELECT id, run_id, body, log_stage, log_attempt, log_offset, log_length FROM events "
            "WHERE id > ?1 ORDER BY id LIMIT ?2"
          : "SELECT id, run_id, body, log_stage, log_attempt, log_offset, log_length FROM events "
            "WHERE run_id = ?3 AND id > ?1 ORDER BY id LIMIT ?2");
  st.bind(1, after_id).bind(2, static_cast<int64_t>(limit));
  if (run_id != 0) st.bind(3, run_id);
  std::vector<EventRecord> out;
  while (st.next()) {
    EventRecord e;
    e.id = st.int64(0);
    e.run_id = st.int64(1);
    e.body = st.text(2);
    e.log_stage = st.text(3);
    e.log_attempt = static_cast<int>(st.int64(4));
    e.log_offset = static_cast<uint64_t>(st.int64(5));
    e.log_length = static_cast<uint64_t>(st.int64(6));
    out.push_back(std::move(e));
  }
  return out;
}

int64_t EventStore::last_event_id() {
  // AUTOINCREMENT's (the sequence's) high-water mark: stays put when the newest rows are gone.
  Statement st =
      db_.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                  "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM events_id_seq");
  return st.next() ? st.int64(0) : 0;
}

uint64_t EventStore::log_events_end(int64_t run_id, const std::string& stage_id, int attempt) {
  Statement st = db_.prepare(
      "SELECT MAX(log_offset + log_length) FROM events WHERE run_id = ?1 AND log_stage = ?2 "
      "AND log_attempt = ?3 AND log_length > 0");
  st.bind(1, run_id).bind(2, stage_id).bind(3, int64_t{attempt});
  return st.next() ? static_cast<uint64_t>(st.int64(0)) : 0;
}

int64_t EventStore::prune_events(int64_t keep) {
  int64_t last = last_event_id();
  if (last <= keep) return 0;
  Statement st = db_.prepare("DELETE FROM events WHERE id <= ?1");
  st.bind(1, last - keep);
  if (!st.run()) return 0;
  return db_.changes();
}

int64_t EventStore::prune_events_bounded(int64_t keep, int64_t max_rows) {
  int64_t last = last_event_id();
  if (last <= keep || max_rows <= 0) return 0;
  Statement st = db_.prepare(
      "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ?1 ORDER BY id LIMIT ?2)");
  st.bind(1, last - keep).bind(2, max_rows);
  if (!st.run()) return 0;
  return db_.changes();
}

}  // namespace gantry::controller
