// What the retention service reads and deletes (docs/retention.md): old
// runs by job, the runs still in use, and the two-phase deletion (mark, the
// caller deletes files, finish) that a crash cannot leave half done.
#include <filesystem>

#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace {

// Runs that ended; only these are ever pruned.
#define GANTRY_FINISHED "status IN ('succeeded', 'failed', 'unstable', 'aborted')"

}  // namespace

std::pair<int64_t, int64_t> RetentionStore::run_activity() {
  Statement st = db_.prepare(
      "SELECT (SELECT COALESCE(MAX(id), 0) FROM runs), (SELECT COUNT(*) FROM runs WHERE status "
      "IN ('queued', 'waiting', 'running'))");
  if (!st.next()) return {0, 0};
  return {st.int64(0), st.int64(1)};
}

std::string RetentionStore::next_job_name(const std::string& after) {
  // One index seek per job, where SELECT DISTINCT would read every run.
  Statement st =
      db_.prepare("SELECT job_name FROM runs WHERE job_name > ?1 ORDER BY job_name LIMIT 1");
  st.bind(1, after);
  return st.next() ? st.text(0) : std::string();
}

std::vector<RetentionStore::RetentionRun> RetentionStore::retention_runs(const std::string& job,
                                                                         int64_t after_id,
                                                                         int still_having,
                                                                         size_t limit) {
  // Three texts, so that each matches its partial index's WHERE exactly.
  const char* sql =
      still_having == kPruneLogs
          ? "SELECT id, status, created_at, finished_at FROM runs INDEXED BY runs_with_logs "
            "WHERE job_name = ?1 AND (pruned & 1) = 0 AND id > ?2 AND prune_pending = 0 "
            "ORDER BY id LIMIT ?3"
      : still_having == kPruneArtifacts
          ? "SELECT id, status, created_at, finished_at FROM runs INDEXED BY runs_with_artifacts "
            "WHERE job_name = ?1 AND (pruned & 2) = 0 AND id > ?2 AND prune_pending = 0 "
            "ORDER BY id LIMIT ?3"
          : "SELECT id, status, created_at, finished_at FROM runs "
            "WHERE job_name = ?1 AND id > ?2 AND prune_pending = 0 ORDER BY id LIMIT ?3";
  Statement st = db_.prepare(sql);
  st.bind(1, job).bind(2, after_id).bind(3, static_cast<int64_t>(limit));
  std::vector<RetentionRun> out;
  while (st.next())
    out.push_back({st.int64(0), run_status_column(st.text(1)), st.int64(2), st.int64(3)});
  return out;
}

int64_t RetentionStore::nth_newest_run(const std::string& job, int64_t n) {
  if (n < 1) return 0;
  Statement st =
      db_.prepare("SELECT id FROM runs WHERE job_name = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2");
  st.bind(1, job).bind(2, n - 1);
  return st.next() ? st.int64(0) : 0;
}

int64_t RetentionStore::newest_good_run(const std::string& job, bool unstable_too,
                                        int64_t above_id) {
  Statement st = db_.prepare(
      "SELECT id FROM runs WHERE job_name = ?1 AND id > ?3 AND rollback_of = 0 AND "
      "(status = 'succeeded' OR (?2 != 0 AND status = 'unstable')) ORDER BY id DESC LIMIT 1");
  st.bind(1, job).bind(2, int64_t{unstable_too ? 1 : 0}).bind(3, above_id);
  return st.next() ? st.int64(0) : 0;
}

std::vector<int64_t> RetentionStore::runs_in_use() {
  Statement st = db_.prepare(
      "SELECT run_id FROM releases WHERE status = 'in_progress' "
      "UNION SELECT run_id FROM releases WHERE id IN "
      "(SELECT MAX(id) FROM releases WHERE status = 'succeeded' GROUP BY environment) "
      "UNION SELECT run_id FROM approvals WHERE status = 'pending'");
  std::vector<int64_t> out;
  while (st.next()) out.push_back(st.int64(0));
  return out;
}

std::vector<RetentionStore::RunDiscarder> RetentionStore::run_discarders(const std::string& job,
                                                                         size_t limit) {
  Statement st = db_.prepare(
      "SELECT id, discarder, CASE WHEN discarder = '' THEN pipeline_source ELSE '' END, "
      "pipeline_format FROM runs WHERE job_name = ?1 AND " GANTRY_FINISHED
      " AND prune_pending = 0 ORDER BY id DESC LIMIT ?2");
  st.bind(1, job).bind(2, static_cast<int64_t>(limit));
  std::vector<RunDiscarder> out;
  while (st.next()) out.push_back({st.int64(0), st.text(1), st.text(2), st.text(3)});
  return out;
}

bool RetentionStore::set_run_discarder(int64_t run_id, const std::string& discarder) {
  Statement st = db_.prepare("UPDATE runs SET discarder = ?2 WHERE id = ?1");
  st.bind(1, run_id).bind(2, discarder);
  return st.run();
}

bool RetentionStore::mark_prune(const std::vector<int64_t>& run_ids, int what) {
  if (run_ids.empty()) return true;
  return static_cast<bool>(db_.transaction([&] {
    for (int64_t id : run_ids) {
      // Only a finished run: one that started again (a retry) is not touched.
      Statement st = db_.prepare(
          "UPDATE runs SET prune_pending = prune_pending | ?2 WHERE id = ?1 AND " GANTRY_FINISHED);
      st.bind(1, id).bind(2, int64_t{what});
      if (!st.run()) return false;
    }
    return true;
  }));
}

std::vector<std::pair<int64_t, int>> RetentionStore::pending_prunes(size_t limit) {
  Statement st = db_.prepare(
      "SELECT id, prune_pending FROM runs INDEXED BY runs_prune_pending "
      "WHERE prune_pending != 0 ORDER BY id LIMIT ?1");
  st.bind(1, static_cast<int64_t>(limit));
  std::vector<std::pair<int64_t, int>> out;
  while (st.next()) out.emplace_back(st.int64(0), static_cast<int>(st.int64(1)));
  return out;
}

bool RetentionStore::finish_prune(const std::vector<int64_t>& run_ids) {
  if (run_ids.empty()) return true;
  auto del = [&](const char* sql, int64_t id) {
    Statement st = db_.prepare(sql);
    st.bind(1, id);
    return st.run();
  };
  return static_cast<bool>(db_.transaction([&] {
    for (int64_t id : run_ids) {
      int what = 0;
      {
        Statement st = db_.prepare("SELECT prune_pending FROM runs WHERE id = ?1");
        st.bind(1, id);
        if (!st.next()) continue;
        what = static_cast<int>(st.int64(0));
      }
      bool ok = true;
      if (what & kPruneRun) {
        ok = del("DELETE FROM events WHERE run_id = ?1", id) &&
             del("DELETE FROM artifacts WHERE run_id = ?1", id) &&
             del("DELETE FROM stages WHERE run_id = ?1", id) &&
             del("DELETE FROM runs WHERE id = ?1", id);
      } else {
        if (what & kPruneLogs)
          ok = del("DELETE FROM events WHERE run_id = ?1 AND log_length > 0", id);
        if (ok && (what & kPruneLogs))
          ok = del("DELETE FROM artifacts WHERE run_id = ?1 AND kind = 'tests'", id);
        if (ok && (what & kPruneArtifacts))
          ok = del("DELETE FROM artifacts WHERE run_id = ?1 AND kind <> 'tests'", id);
        if (ok) {
          Statement st = db_.prepare(
              "UPDATE runs SET pruned = pruned | prune_pending, prune_pending = 0 WHERE id = ?1");
          st.bind(1, id);
          ok = st.run();
        }
      }
      if (!ok) return false;
    }
    return true;
  }));
}

int RetentionStore::pruned_parts(int64_t run_id) {
  Statement st = db_.prepare("SELECT pruned FROM runs WHERE id = ?1");
  st.bind(1, run_id);
  return st.next() ? static_cast<int>(st.int64(0)) : 0;
}

#undef GANTRY_FINISHED

}  // namespace gantry::controller
