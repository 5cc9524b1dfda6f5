// The release ledger: one row per deploy stage that started.
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace {

#define GANTRY_RELEASE_COLUMNS                                                      \
  "id, environment, run_id, stage_id, repo, commit_sha, strategy, previous, gmud, " \
  "status, reason, created_at, finished_at, rollback_run, rolled_back_by"

template <typename Statement>
ReleaseRecord read_release(const Statement& st) {
  ReleaseRecord r;
  r.id = st.int64(0);
  r.environment = st.text(1);
  r.run_id = st.int64(2);
  r.stage_id = st.text(3);
  r.repo = st.text(4);
  r.commit = st.text(5);
  r.strategy = st.text(6);
  r.previous = st.int64(7);
  r.gmud = st.int64(8);
  r.status = release_status_column(st.text(9));
  r.reason = st.text(10);
  r.created_at = st.int64(11);
  r.finished_at = st.int64(12);
  r.rollback_run = st.int64(13);
  r.rolled_back_by = st.text(14);
  return r;
}

}  // namespace

Result<int64_t> GateStore::create_release(ReleaseRecord& r) {
  Statement st = db_.prepare(
      "INSERT INTO releases (environment, run_id, stage_id, repo, commit_sha, strategy, "
      "previous, gmud, status, reason, created_at, finished_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id");
  st.bind(1, r.environment).bind(2, r.run_id).bind(3, r.stage_id).bind(4, r.repo);
  st.bind(5, r.commit).bind(6, r.strategy).bind(7, r.previous).bind(8, r.gmud);
  st.bind(9, to_string(r.status)).bind(10, r.reason).bind(11, r.created_at).bind(12, r.finished_at);
  if (!st.next()) return db_.outcome(false, "store a release").error();
  r.id = st.int64(0);
  if (Status s = db_.outcome(st.run(), "store a release"); !s) return s.error();
  return r.id;
}

Status GateStore::update_release(const ReleaseRecord& r) {
  Statement st = db_.prepare(
      "UPDATE releases SET status = ?2, reason = ?3, finished_at = ?4, rollback_run = ?5, "
      "rolled_back_by = ?6 WHERE id = ?1");
  st.bind(1, r.id).bind(2, to_string(r.status)).bind(3, r.reason).bind(4, r.finished_at);
  st.bind(5, r.rollback_run).bind(6, r.rolled_back_by);
  return db_.outcome(st.run(), "update a release");
}

Result<std::optional<ReleaseRecord>> GateStore::release(int64_t id) {
  Statement st = db_.prepare("SELECT " GANTRY_RELEASE_COLUMNS " FROM releases WHERE id = ?1");
  st.bind(1, id);
  if (!st.next()) {
    if (!st.ok()) return db_.failure("read a release");
    return std::optional<ReleaseRecord>();
  }
  return std::optional<ReleaseRecord>(read_release(st));
}

std::optional<ReleaseRecord> GateStore::release_of(int64_t run_id, const std::string& stage_id) {
  Statement st = db_.prepare("SELECT " GANTRY_RELEASE_COLUMNS
                             " FROM releases WHERE run_id = ?1 AND stage_id = ?2");
  st.bind(1, run_id).bind(2, stage_id);
  if (!st.next()) return std::nullopt;
  return read_release(st);
}

std::vector<ReleaseRecord> GateStore::list_releases(size_t limit, std::string_view environment,
                                                    const std::vector<std::string>* repos) {
  Statement st = db_.prepare("SELECT " GANTRY_RELEASE_COLUMNS
                             " FROM releases WHERE (?1 = '' OR environment = ?1) AND (?3 IS NULL "
                             "OR repo IN (SELECT value FROM json_each(?3))) "
                             "ORDER BY id DESC LIMIT ?2");
  st.bind(1, environment).bind(2, static_cast<int64_t>(limit));
  if (repos) st.bind(3, encode_string_list(*repos));
  std::vector<ReleaseRecord> out;
  while (st.next()) out.push_back(read_release(st));
  return out;
}

std::vector<ReleaseRecord> GateStore::succeeded_releases(std::string_view environment,
                                                         std::string_view repo, size_t limit) {
  Statement st = db_.prepare("SELECT " GANTRY_RELEASE_COLUMNS
                             " FROM releases WHERE environment = ?1 AND repo = ?2 AND "
                             "status = 'succeeded' ORDER BY id DESC LIMIT ?3");
  st.bind(1, environment).bind(2, repo).bind(3, static_cast<int64_t>(limit));
  std::vector<ReleaseRecord> out;
  while (st.next()) out.push_back(read_release(st));
  return out;
}

std::optional<ReleaseRecord> GateStore::current_release(std::string_view environment) {
  Statement st = db_.prepare("SELECT " GANTRY_RELEASE_COLUMNS
                             " FROM releases WHERE environment = ?1 AND status = 'succeeded' "
                             "ORDER BY id DESC LIMIT 1");
  st.bind(1, environment);
  if (!st.next()) return std::nullopt;
  return read_release(st);
}

}  // namespace gantry::controller
