// Stages, agents and artifacts: upserts keyed by their natural ids.
#include "gantry/common/log.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace {

// Templates only because Store::Statement is private to Store.
template <typename Statement>
StageRecord read_stage(const Statement& st) {
  StageRecord s;
  s.run_id = st.int64(0);
  s.stage_id = st.text(1);
  s.name = st.text(2);
  s.order = static_cast<int>(st.int64(3));
  s.status = run_status_column(st.text(4));
  s.agent = st.text(5);
  s.attempts = static_cast<int>(st.int64(6));
  s.job_id = st.text(7);
  s.epoch = static_cast<uint64_t>(st.int64(8));
  s.reason = st.text(9);
  s.started_at = st.int64(10);
  s.finished_at = st.int64(11);
  s.log_bytes = static_cast<uint64_t>(st.int64(12));
  decode_progress(st.text(13), s);
  return s;
}

template <typename Statement>
ArtifactRecord read_artifact(const Statement& st) {
  ArtifactRecord a;
  a.run_id = st.int64(0);
  a.kind = st.text(1);
  a.name = st.text(2);
  a.stage_id = st.text(3);
  a.size = static_cast<uint64_t>(st.int64(4));
  a.file = st.text(5);
  a.created_at = st.int64(6);
  return a;
}

}  // namespace

// ---- stages

Status RunStore::delete_stages(int64_t run_id) {
  Statement st = db_.prepare("DELETE FROM stages WHERE run_id = ?1");
  st.bind(1, run_id);
  return db_.outcome(st.run(), "delete stages");
}

Status RunStore::put_stage(const StageRecord& s) {
  // uint64 values are stored as their int64 bit pattern and read back alike.
  Statement st = db_.prepare(
      "INSERT INTO stages (run_id, stage_id, name, ord, status, agent, attempts, job_id, epoch, "
      "reason, started_at, finished_at, log_bytes, progress) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
      "ON CONFLICT (run_id, stage_id) DO UPDATE SET name = excluded.name, ord = excluded.ord, "
      "status = excluded.status, agent = excluded.agent, attempts = excluded.attempts, "
      "job_id = excluded.job_id, epoch = excluded.epoch, reason = excluded.reason, "
      "started_at = excluded.started_at, finished_at = excluded.finished_at, "
      "log_bytes = excluded.log_bytes, progress = excluded.progress");
  st.bind(1, s.run_id).bind(2, s.stage_id).bind(3, s.name).bind(4, int64_t{s.order});
  st.bind(5, to_string(s.status)).bind(6, s.agent).bind(7, int64_t{s.attempts}).bind(8, s.job_id);
  st.bind(9, static_cast<int64_t>(s.epoch)).bind(10, s.reason).bind(11, s.started_at);
  st.bind(12, s.finished_at).bind(13, static_cast<int64_t>(s.log_bytes));
  st.bind(14, encode_progress(s));
  return db_.outcome(st.run(), "store a stage");
}

std::vector<StageRecord> RunStore::stages(int64_t run_id) {
  Statement st = db_.prepare(
      "SELECT run_id, stage_id, name, ord, status, agent, attempts, job_id, epoch, reason, "
      "started_at, finished_at, log_bytes, progress FROM stages WHERE run_id = ?1 "
      "ORDER BY ord, stage_id");
  st.bind(1, run_id);
  std::vector<StageRecord> out;
  while (st.next()) out.push_back(read_stage(st));
  return out;
}

// ---- agents

Status RunStore::put_agent(const AgentRecord& a) {
  Statement st = db_.prepare(
      "INSERT INTO agents (agent_id, name, labels, executors, last_seen, token_name) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (agent_id) DO UPDATE SET name = excluded.name, labels = excluded.labels, "
      "executors = excluded.executors, last_seen = excluded.last_seen, "
      "token_name = excluded.token_name");
  st.bind(1, a.agent_id).bind(2, a.name).bind(3, encode_string_list(a.labels));
  st.bind(4, int64_t{a.executors}).bind(5, a.last_seen).bind(6, a.token_name);
  return db_.outcome(st.run(), "store an agent");
}

std::vector<AgentRecord> RunStore::agents() {
  Statement st = db_.prepare(
      "SELECT agent_id, name, labels, executors, last_seen, token_name FROM agents "
      "ORDER BY name, agent_id");
  std::vector<AgentRecord> out;
  while (st.next()) {
    AgentRecord a;
    a.agent_id = st.text(0);
    a.name = st.text(1);
    if (!decode_string_list(st.text(2), a.labels)) {
      log::warn("store", "agent.bad_labels", {{"agent", a.agent_id}});
    }
    a.executors = static_cast<int>(st.int64(3));
    a.last_seen = st.int64(4);
    a.token_name = st.text(5);
    out.push_back(std::move(a));
  }
  return out;
}

// ---- artifacts

Status RunStore::add_artifact(const ArtifactRecord& a) {
  Statement st = db_.prepare(
      "INSERT INTO artifacts (run_id, kind, name, stage_id, size, file, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
      "ON CONFLICT (run_id, kind, name) DO UPDATE SET stage_id = excluded.stage_id, "
      "size = excluded.size, file = excluded.file, created_at = excluded.created_at");
  st.bind(1, a.run_id).bind(2, a.kind).bind(3, a.name).bind(4, a.stage_id);
  st.bind(5, static_cast<int64_t>(a.size)).bind(6, a.file).bind(7, a.created_at);
  return db_.outcome(st.run(), "store an artifact");
}

std::vector<ArtifactRecord> RunStore::artifacts(int64_t run_id) {
  Statement st = db_.prepare(
      "SELECT run_id, kind, name, stage_id, size, file, created_at FROM artifacts "
      "WHERE run_id = ?1 ORDER BY kind, name");
  st.bind(1, run_id);
  std::vector<ArtifactRecord> out;
  while (st.next()) out.push_back(read_artifact(st));
  return out;
}

std::optional<ArtifactRecord> RunStore::artifact(int64_t run_id, std::string_view kind,
                                                 std::string_view name) {
  Statement st = db_.prepare(
      "SELECT run_id, kind, name, stage_id, size, file, created_at FROM artifacts "
      "WHERE run_id = ?1 AND kind = ?2 AND name = ?3");
  st.bind(1, run_id).bind(2, kind).bind(3, name);
  if (!st.next()) return std::nullopt;
  return read_artifact(st);
}

}  // namespace gantry::controller
