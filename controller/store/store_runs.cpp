// Runs: creation with per-job numbering, updates and the queries the API,
// the scheduler and startup recovery need.
#include <algorithm>
#include <cstdint>

#include "gantry/common/log.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {
namespace {

// Keep in step with read_run() and bind_run_fields(). (These two are
// templates only because Store::Statement is private to Store.)
#define GANTRY_RUN_COLUMNS                                                                    \
  "id, job_name, number, repo_url, ref, commit_sha, author, trigger_text, pipeline_path, "    \
  "pipeline_source, pipeline_format, params, status, reason, created_by, created_at, "        \
  "started_at, finished_at, cancel_requested, tests_total, tests_failed, tests_skipped, "     \
  "repo_name, author_email, previous_commit, previous_successful_commit, changes, "           \
  "rollback_of, rollback_stage, retry_of, pushers, restart_stage, script_env, script_state, " \
  "description, display_name, libraries, change_request, upstream_run, upstream_stage"

// ?2 .. ?38: every column but id, job_name and number.
template <typename Statement>
void bind_run_fields(Statement& st, const RunRecord& r) {
  st.bind(2, r.repo_url).bind(3, r.ref).bind(4, r.commit).bind(5, r.author).bind(6, r.trigger);
  st.bind(7, r.pipeline_path).bind(8, r.pipeline_source).bind(9, r.pipeline_format);
  st.bind(10, encode_string_map(r.params)).bind(11, to_string(r.status)).bind(12, r.reason);
  st.bind(13, r.created_by).bind(14, r.created_at).bind(15, r.started_at).bind(16, r.finished_at);
  st.bind(17, int64_t{r.cancel_requested ? 1 : 0}).bind(18, r.tests_total);
  st.bind(19, r.tests_failed).bind(20, r.tests_skipped);
  st.bind(21, r.repo_name).bind(22, r.author_email).bind(23, r.previous_commit);
  st.bind(24, r.previous_successful_commit).bind(25, encode_changes(r.changes));
  st.bind(26, r.rollback_of).bind(27, r.rollback_stage).bind(28, r.retry_of);
  st.bind(29, encode_instigators(r.pushers)).bind(30, r.restart_stage);
  st.bind(31, encode_string_map(r.script_env)).bind(32, r.script_state);
  st.bind(33, r.description).bind(34, r.display_name).bind(35, r.libraries);
  st.bind(36, encode_string_map(r.change_request));
  st.bind(37, r.upstream_run).bind(38, r.upstream_stage);
}

template <typename Statement>
RunRecord read_run(const Statement& st) {
  RunRecord r;
  r.id = st.int64(0);
  r.job_name = st.text(1);
  r.number = st.int64(2);
  r.repo_url = st.text(3);
  r.ref = st.text(4);
  r.commit = st.text(5);
  r.author = st.text(6);
  r.trigger = st.text(7);
  r.pipeline_path = st.text(8);
  r.pipeline_source = st.text(9);
  r.pipeline_format = st.text(10);
  if (!decode_string_map(st.text(11), r.params)) {
    log::warn("store", "run.bad_params", {{"run", std::to_string(r.id)}});
  }
  r.status = run_status_column(st.text(12));
  r.reason = st.text(13);
  r.created_by = st.text(14);
  r.created_at = st.int64(15);
  r.started_at = st.int64(16);
  r.finished_at = st.int64(17);
  r.cancel_requested = st.int64(18) != 0;
  r.tests_total = st.int64(19);
  r.tests_failed = st.int64(20);
  r.tests_skipped = st.int64(21);
  r.repo_name = st.text(22);
  r.author_email = st.text(23);
  r.previous_commit = st.text(24);
  r.previous_successful_commit = st.text(25);
  if (!decode_changes(st.text(26), r.changes)) {
    log::warn("store", "run.bad_changes", {{"run", std::to_string(r.id)}});
  }
  r.rollback_of = st.int64(27);
  r.rollback_stage = st.text(28);
  r.retry_of = st.int64(29);
  decode_instigators(st.text(30), r.pushers);
  r.restart_stage = st.text(31);
  if (!decode_string_map(st.text(32), r.script_env)) {
    log::warn("store", "run.bad_script_env", {{"run", std::to_string(r.id)}});
  }
  r.script_state = st.text(33);
  r.description = st.text(34);
  r.display_name = st.text(35);
  r.libraries = st.text(36);
  if (!decode_string_map(st.text(37), r.change_request)) {
    log::warn("store", "run.bad_change_request", {{"run", std::to_string(r.id)}});
  }
  r.upstream_run = st.int64(38);
  r.upstream_stage = st.text(39);
  return r;
}

std::vector<RunRecord> query_runs(Statement& st) {
  std::vector<RunRecord> runs;
  while (st.next()) runs.push_back(read_run(st));
  return runs;
}

}  // namespace

Result<int64_t> RunStore::create_run(RunRecord& run) {
  // One statement, so the number is assigned atomically with the insert.
  Statement st = db_.prepare(
      "INSERT INTO runs (job_name, number, repo_url, ref, commit_sha, author, trigger_text, "
      "pipeline_path, pipeline_source, pipeline_format, params, status, reason, created_by, "
      "created_at, started_at, finished_at, cancel_requested, tests_total, tests_failed, "
      "tests_skipped, repo_name, author_email, previous_commit, previous_successful_commit, "
      "changes, rollback_of, rollback_stage, retry_of, pushers, restart_stage, script_env, "
      "script_state, description, display_name, libraries, change_request, upstream_run, "
      "upstream_stage) VALUES (?1, "
      "(SELECT COALESCE(MAX(number), 0) + 1 FROM runs WHERE job_name = ?1), ?2, ?3, ?4, ?5, ?6, "
      "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
      "?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38) RETURNING id, number");
  st.bind(1, run.job_name);
  bind_run_fields(st, run);
  if (!st.next()) return db_.outcome(false, "store a run").error();
  int64_t id = st.int64(0);
  int64_t number = st.int64(1);
  if (Status s = db_.outcome(st.run(), "store a run"); !s) return s.error();
  run.id = id;
  run.number = number;
  return id;
}

Status RunStore::update_run(const RunRecord& run) {
  Statement st = db_.prepare(
      "UPDATE runs SET repo_url = ?2, ref = ?3, commit_sha = ?4, author = ?5, trigger_text = ?6, "
      "pipeline_path = ?7, pipeline_source = ?8, pipeline_format = ?9, params = ?10, "
      "status = ?11, reason = ?12, created_by = ?13, created_at = ?14, started_at = ?15, "
      "finished_at = ?16, cancel_requested = ?17, tests_total = ?18, tests_failed = ?19, "
      "tests_skipped = ?20, repo_name = ?21, author_email = ?22, previous_commit = ?23, "
      "previous_successful_commit = ?24, changes = ?25, rollback_of = ?26, rollback_stage = ?27, "
      "retry_of = ?28, pushers = ?29, restart_stage = ?30, script_env = ?31, script_state = ?32, "
      "description = ?33, display_name = ?34, libraries = ?35, change_request = ?36, "
      "upstream_run = ?37, upstream_stage = ?38 WHERE id = ?1");
  st.bind(1, run.id);
  bind_run_fields(st, run);
  if (Status s = db_.outcome(st.run(), "update a run"); !s) return s;
  if (db_.changes() != 1) {
    log::error("store", "run.update_unknown", {{"run", std::to_string(run.id)}});
    return make_error(Errc::NotFound, "no run " + std::to_string(run.id));
  }
  return ok();
}

Result<std::optional<RunRecord>> RunStore::run(int64_t id) {
  Statement st = db_.prepare("SELECT " GANTRY_RUN_COLUMNS " FROM runs WHERE id = ?1");
  st.bind(1, id);
  if (!st.next()) {
    if (!st.ok()) return db_.failure("read a run");
    return std::optional<RunRecord>();
  }
  return std::optional<RunRecord>(read_run(st));
}

// In a summary, of the change range only the run's own commit, with its sha and the start of its
// message (for the commit's title in lists), never the paths. SQLite's JSON functions, then
// PostgreSQL's.
#define GANTRY_HEAD_CHANGE                                                                \
  "(SELECT json_group_array(json_object('sha', json_extract(value, '$.sha'), 'message', " \
  "substr(json_extract(value, '$.message'), 1, 300))) FROM json_each(changes) WHERE "     \
  "json_extract(value, '$.sha') = commit_sha)"
#define GANTRY_HEAD_CHANGE_PG                                                                 \
  "(SELECT COALESCE(json_agg(json_build_object('sha', value->>'sha', 'message', "             \
  "substr(value->>'message', 1, 300)))::text, '[]') FROM json_array_elements(changes::json) " \
  "WHERE value->>'sha' = commit_sha)"

// A summary: the big columns left empty, the change range cut to its head.
#define GANTRY_SELECT_SUMMARY(head_change)                                                \
  "SELECT id, job_name, number, repo_url, ref, commit_sha, author, trigger_text, "        \
  "pipeline_path, '', pipeline_format, '{}', status, reason, created_by, created_at, "    \
  "started_at, finished_at, cancel_requested, tests_total, tests_failed, tests_skipped, " \
  "repo_name, author_email, previous_commit, previous_successful_commit, " head_change    \
  ", "                                                                                    \
  "rollback_of, rollback_stage, retry_of, '[]', restart_stage, '{}', '', description, "   \
  "display_name, '', '{}', upstream_run, upstream_stage FROM runs "

// The repository filter is one JSON array parameter, so the statement stays the same whatever
// its length.
#define GANTRY_LIST_WHERE                                                                       \
  "WHERE (?1 = 0 OR id < ?1) AND (?2 = '' OR status = ?2) AND (?4 IS NULL OR (repo_name != '' " \
  "AND repo_name IN (SELECT value FROM json_each(?4)))) "

std::vector<RunRecord> RunStore::list_runs(size_t limit, int64_t before_id, std::string_view status,
                                           bool summary, const std::vector<std::string>* repos) {
#define GANTRY_ORDER "ORDER BY id DESC LIMIT ?3"
  Statement st =
      summary
          ? db_.prepare(GANTRY_SELECT_SUMMARY(GANTRY_HEAD_CHANGE) GANTRY_LIST_WHERE GANTRY_ORDER,
                        GANTRY_SELECT_SUMMARY(GANTRY_HEAD_CHANGE_PG) GANTRY_LIST_WHERE GANTRY_ORDER)
          : db_.prepare("SELECT " GANTRY_RUN_COLUMNS " FROM runs " GANTRY_LIST_WHERE GANTRY_ORDER);
#undef GANTRY_ORDER
  constexpr size_t kMaxLimit = INT64_MAX;
  st.bind(1, before_id).bind(2, status).bind(3, static_cast<int64_t>(std::min(limit, kMaxLimit)));
  if (repos) st.bind(4, encode_string_list(*repos));
  return query_runs(st);
}

std::vector<RunRecord> RunStore::list_runs(size_t limit, int64_t before_id, const RunFilter& f) {
#define GANTRY_FILTER_WHERE                                                                     \
  "AND (?5 = '' OR job_name = ?5) AND (?6 = 0 OR number = ?6) AND (?7 = '' OR repo_name = ?7) " \
  "AND (?8 = '' OR ref = ?8 OR ref = 'refs/heads/' || ?8 OR ref = 'refs/tags/' || ?8) AND "     \
  "(?9 = '' OR created_by = ?9) ORDER BY id DESC LIMIT ?3"
  Statement st = db_.prepare(
      GANTRY_SELECT_SUMMARY(GANTRY_HEAD_CHANGE) GANTRY_LIST_WHERE GANTRY_FILTER_WHERE,
      GANTRY_SELECT_SUMMARY(GANTRY_HEAD_CHANGE_PG) GANTRY_LIST_WHERE GANTRY_FILTER_WHERE);
#undef GANTRY_FILTER_WHERE
  constexpr size_t kMaxLimit = INT64_MAX;
  st.bind(1, before_id)
      .bind(2, f.status)
      .bind(3, static_cast<int64_t>(std::min(limit, kMaxLimit)))
      .bind(5, f.job)
      .bind(6, f.number)
      .bind(7, f.repo)
      .bind(8, f.ref)
      .bind(9, f.created_by);
  if (f.repos) st.bind(4, encode_string_list(*f.repos));
  return query_runs(st);
}

std::vector<RunRecord> RunStore::unfinished_runs() {
  Statement st = db_.prepare("SELECT " GANTRY_RUN_COLUMNS
                             " FROM runs WHERE status IN ('queued', 'waiting', 'running') "
                             "ORDER BY id");
  return query_runs(st);
}

std::optional<RunRecord> RunStore::previous_run(const std::string& job_name, int64_t before_id) {
  Statement st = db_.prepare("SELECT " GANTRY_RUN_COLUMNS
                             " FROM runs WHERE job_name = ?1 AND id < ?2 AND rollback_of = 0 AND "
                             "status IN ('succeeded', 'failed', 'unstable', 'aborted') "
                             "ORDER BY id DESC LIMIT 1");
  st.bind(1, job_name).bind(2, before_id);
  if (!st.next()) return std::nullopt;
  return read_run(st);
}

std::vector<RunRecord> RunStore::downstream_of(int64_t upstream_run, size_t limit) {
  Statement st = db_.prepare("SELECT " GANTRY_RUN_COLUMNS
                             " FROM runs WHERE upstream_run = ?1 ORDER BY id LIMIT ?2");
  st.bind(1, upstream_run).bind(2, static_cast<int64_t>(limit));
  return query_runs(st);
}

std::optional<RunRecord> RunStore::last_run_with_commit(const std::string& job_name,
                                                        int64_t before_id, bool succeeded_only) {
  Statement st = db_.prepare("SELECT " GANTRY_RUN_COLUMNS
                             " FROM runs WHERE job_name = ?1 AND id < ?2 AND commit_sha != '' AND "
                             "rollback_of = 0 AND (?3 = 0 OR status = 'succeeded') "
                             "ORDER BY id DESC LIMIT 1");
  st.bind(1, job_name).bind(2, before_id).bind(3, int64_t{succeeded_only ? 1 : 0});
  if (!st.next()) return std::nullopt;
  return read_run(st);
}

std::map<std::string, std::string> RunStore::repo_heads(const std::string& repo) {
  Statement st = db_.prepare("SELECT ref, commit_sha FROM repo_heads WHERE repo = ?1");
  st.bind(1, repo);
  std::map<std::string, std::string> heads;
  while (st.next()) heads[st.text(0)] = st.text(1);
  return heads;
}

Status RunStore::set_repo_heads(const std::string& repo,
                                const std::map<std::string, std::string>& heads) {
  return db_.transaction([&] {
    Statement del = db_.prepare("DELETE FROM repo_heads WHERE repo = ?1");
    del.bind(1, repo);
    if (!db_.outcome(del.run(), "store repository heads")) return false;
    for (const auto& [ref, commit] : heads) {
      Statement ins =
          db_.prepare("INSERT INTO repo_heads (repo, ref, commit_sha) VALUES (?1, ?2, ?3)");
      ins.bind(1, repo).bind(2, ref).bind(3, commit);
      if (!db_.outcome(ins.run(), "store repository heads")) return false;
    }
    return true;
  });
}

#undef GANTRY_RUN_COLUMNS

std::map<std::string, int64_t> RunStore::run_counts_by_status() {
  std::map<std::string, int64_t> counts;
  for (RunStatus s :
       {RunStatus::Queued, RunStatus::Waiting, RunStatus::Running, RunStatus::Succeeded,
        RunStatus::Failed, RunStatus::Unstable, RunStatus::Aborted}) {
    counts[std::string(to_string(s))] = 0;
  }
  Statement st = db_.prepare("SELECT status, COUNT(*) FROM runs GROUP BY status");
  while (st.next()) counts[st.text(0)] = st.int64(1);
  return counts;
}

}  // namespace gantry::controller
