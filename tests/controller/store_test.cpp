// The store on real files in a temporary directory: round trips, numbering,
// queries, transactions, migrations and reopening, on SQLite and on a
// throwaway PostgreSQL cluster (the TEMPLATE_TEST_CASEs: each runs on both).
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../support/postgresql_cluster.hpp"
#include "store/postgresql_database.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

using namespace gantry::controller;
using gantry::ApprovalStatus;
using gantry::GateKind;
using gantry::ReleaseStatus;
using gantry::RunStatus;
using gantry::test::Postgresql;
using gantry::test::Sqlite;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gantry-store-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string data() const { return (path / "data").string(); }
};

// A second, raw connection, to look at the file as SQLite sees it.
std::string raw_query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

RunRecord sample_run(const std::string& job) {
  RunRecord r;
  r.job_name = job;
  r.repo_url = "file:///srv/git/" + job + ".git";
  r.ref = "refs/heads/main";
  r.commit = "0123456789abcdef0123456789abcdef01234567";
  r.author = "Alice <alice@example.com>";
  r.trigger = "api";
  r.pipeline_path = "Jenkinsfile";
  r.pipeline_source = "pipeline { agent any\n stages { } }\n";
  r.pipeline_format = "jenkinsfile";
  r.params = {{"ENV", "staging"}, {"quote", "a \"b\" \n c"}, {"empty", ""}};
  r.created_by = "alice";
  r.created_at = 1700000000000;
  return r;
}

void check_same(const RunRecord& a, const RunRecord& b) {
  CHECK(a.id == b.id);
  CHECK(a.job_name == b.job_name);
  CHECK(a.number == b.number);
  CHECK(a.repo_url == b.repo_url);
  CHECK(a.ref == b.ref);
  CHECK(a.commit == b.commit);
  CHECK(a.author == b.author);
  CHECK(a.trigger == b.trigger);
  CHECK(a.pipeline_path == b.pipeline_path);
  CHECK(a.pipeline_source == b.pipeline_source);
  CHECK(a.pipeline_format == b.pipeline_format);
  CHECK(a.params == b.params);
  CHECK(a.status == b.status);
  CHECK(a.reason == b.reason);
  CHECK(a.created_by == b.created_by);
  CHECK(a.created_at == b.created_at);
  CHECK(a.started_at == b.started_at);
  CHECK(a.finished_at == b.finished_at);
  CHECK(a.cancel_requested == b.cancel_requested);
  CHECK(a.tests_total == b.tests_total);
  CHECK(a.tests_failed == b.tests_failed);
  CHECK(a.tests_skipped == b.tests_skipped);
}

std::vector<int64_t> ids(const std::vector<RunRecord>& runs) {
  std::vector<int64_t> out;
  for (const auto& r : runs) out.push_back(r.id);
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("runs round-trip and are numbered per job", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  RunRecord a1 = sample_run("app");
  REQUIRE(store.runs().create_run(a1).value() > 0);
  CHECK(a1.number == 1);
  auto got = store.runs().run(a1.id).value();
  REQUIRE(got);
  check_same(*got, a1);

  a1.status = RunStatus::Failed;
  a1.reason = "agent lost";
  a1.started_at = 1700000001000;
  a1.finished_at = 1700000002000;
  a1.cancel_requested = true;
  a1.commit = "fedcba";
  a1.params["extra"] = "x";
  a1.tests_total = 10;
  a1.tests_failed = 2;
  a1.tests_skipped = 1;
  REQUIRE(store.runs().update_run(a1));
  check_same(*store.runs().run(a1.id).value(), a1);

  RunRecord a2 = sample_run("app");
  RunRecord l1 = sample_run("lib");
  RunRecord a3 = sample_run("app");
  REQUIRE(store.runs().create_run(a2).value() > 0);
  REQUIRE(store.runs().create_run(l1).value() > 0);
  REQUIRE(store.runs().create_run(a3).value() > 0);
  CHECK(a2.number == 2);
  CHECK(l1.number == 1);
  CHECK(a3.number == 3);
  CHECK(a3.id > l1.id);
  CHECK(l1.id > a2.id);

  CHECK_FALSE(store.runs().run(9999).value());
  RunRecord unknown = sample_run("app");
  unknown.id = 9999;
  CHECK_FALSE(store.runs().update_run(unknown));
}

TEMPLATE_TEST_CASE("run queries", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  std::vector<RunRecord> runs;
  for (RunStatus status : {RunStatus::Succeeded, RunStatus::Running, RunStatus::Failed,
                           RunStatus::Queued, RunStatus::Waiting, RunStatus::Succeeded}) {
    RunRecord r = sample_run("app");
    r.status = status;
    REQUIRE(store.runs().create_run(r).value() > 0);
    runs.push_back(r);
  }
  auto id = [&](size_t i) { return runs[i].id; };
  CHECK(ids(store.runs().list_runs(100)) ==
        std::vector<int64_t>{id(5), id(4), id(3), id(2), id(1), id(0)});
  CHECK(ids(store.runs().list_runs(2)) == std::vector<int64_t>{id(5), id(4)});
  CHECK(ids(store.runs().list_runs(2, id(4))) == std::vector<int64_t>{id(3), id(2)});
  CHECK(ids(store.runs().list_runs(10, 0, "succeeded")) == std::vector<int64_t>{id(5), id(0)});
  CHECK(ids(store.runs().list_runs(10, id(5), "succeeded")) == std::vector<int64_t>{id(0)});
  CHECK(store.runs().list_runs(0).empty());
  CHECK(ids(store.runs().unfinished_runs()) == std::vector<int64_t>{id(1), id(3), id(4)});

  CHECK(store.runs().previous_run("app", id(4))->id == id(2));
  CHECK(store.runs().previous_run("app", id(2))->id == id(0));
  CHECK_FALSE(store.runs().previous_run("app", id(0)));
  CHECK_FALSE(store.runs().previous_run("lib", id(5) + 1));

  auto counts = store.runs().run_counts_by_status();
  CHECK(counts["succeeded"] == 2);
  CHECK(counts["running"] == 1);
  CHECK(counts["failed"] == 1);
  CHECK(counts["queued"] == 1);
  CHECK(counts["waiting"] == 1);
  CHECK(counts["aborted"] == 0);
  CHECK(counts["unstable"] == 0);
}

TEMPLATE_TEST_CASE("stages are upserted and listed in plan order", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  RunRecord run = sample_run("app");
  REQUIRE(store.runs().create_run(run).value() > 0);

  StageRecord test{run.id, "Test / Unit", "Unit", 2};
  StageRecord build{run.id, "Build", "Build", 1};
  REQUIRE(store.runs().put_stage(test));
  REQUIRE(store.runs().put_stage(build));
  build.status = RunStatus::Running;
  build.agent = "b3";
  build.attempts = 2;
  build.job_id = "job-7";
  build.epoch = UINT64_MAX;
  build.reason = "retrying";
  build.started_at = 5;
  build.finished_at = 6;
  build.log_bytes = (uint64_t{1} << 40) + 3;
  REQUIRE(store.runs().put_stage(build));

  auto stages = store.runs().stages(run.id);
  REQUIRE(stages.size() == 2);
  const StageRecord& b = stages[0];
  CHECK(b.stage_id == "Build");
  CHECK(b.name == "Build");
  CHECK(b.order == 1);
  CHECK(b.status == RunStatus::Running);
  CHECK(b.agent == "b3");
  CHECK(b.attempts == 2);
  CHECK(b.job_id == "job-7");
  CHECK(b.epoch == UINT64_MAX);
  CHECK(b.reason == "retrying");
  CHECK(b.started_at == 5);
  CHECK(b.finished_at == 6);
  CHECK(b.log_bytes == (uint64_t{1} << 40) + 3);
  CHECK(stages[1].stage_id == "Test / Unit");
  CHECK(stages[1].status == RunStatus::Queued);

  CHECK(store.runs().stages(run.id + 1).empty());
  StageRecord orphan{run.id + 1, "Build", "Build", 1};
  CHECK_FALSE(store.runs().put_stage(orphan));  // foreign keys are on
}

TEMPLATE_TEST_CASE("agents and artifacts", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  REQUIRE(store.runs().put_agent({"id-2", "zeta", {"linux", "docker"}, 4, 100, "pool-a"}));
  REQUIRE(store.runs().put_agent({"id-1", "alpha", {}, 1, 50, ""}));
  REQUIRE(store.runs().put_agent({"id-2", "zeta", {"linux"}, 2, 200, "pool-b"}));
  auto agents = store.runs().agents();
  REQUIRE(agents.size() == 2);
  CHECK(agents[0].name == "alpha");
  CHECK(agents[0].labels.empty());
  CHECK(agents[1].agent_id == "id-2");
  CHECK(agents[1].labels == std::vector<std::string>{"linux"});
  CHECK(agents[1].executors == 2);
  CHECK(agents[1].last_seen == 200);
  CHECK(agents[1].token_name == "pool-b");

  RunRecord run = sample_run("app");
  REQUIRE(store.runs().create_run(run).value() > 0);
  REQUIRE(store.runs().add_artifact({run.id, "stash", "src", "Build", 10, "/a/1", 1}));
  REQUIRE(store.runs().add_artifact({run.id, "artifact", "out/app.tar", "Build", 20, "/a/2", 2}));
  REQUIRE(
      store.runs().add_artifact({run.id, "stash", "src", "Build 2", 30, "/a/3", 3}));  // replaces
  auto all = store.runs().artifacts(run.id);
  REQUIRE(all.size() == 2);
  CHECK(all[0].kind == "artifact");
  CHECK(all[1].size == 30);
  auto stash = store.runs().artifact(run.id, "stash", "src");
  REQUIRE(stash);
  CHECK(stash->stage_id == "Build 2");
  CHECK(stash->file == "/a/3");
  CHECK(stash->created_at == 3);
  CHECK_FALSE(store.runs().artifact(run.id, "artifact", "src"));
  CHECK_FALSE(store.runs().add_artifact({run.id + 1, "stash", "src", "", 0, "", 0}));
}

TEMPLATE_TEST_CASE("transactions commit, roll back and nest", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  auto count = [&] { return store.runs().list_runs(100).size(); };

  CHECK(store.transaction([&] {
    RunRecord r = sample_run("app");
    return store.runs().create_run(r).value() > 0;
  }));
  CHECK(count() == 1);

  CHECK_FALSE(store.transaction([&] {
    RunRecord r = sample_run("app");
    (void)store.runs().create_run(r);
    return false;
  }));
  CHECK(count() == 1);

  CHECK_THROWS_AS(store.transaction([&]() -> bool {
    RunRecord r = sample_run("app");
    (void)store.runs().create_run(r);
    throw std::runtime_error("boom");
  }),
                  std::runtime_error);
  CHECK(count() == 1);

  CHECK(store.transaction([&] {
    RunRecord outer = sample_run("app");
    (void)store.runs().create_run(outer);
    bool inner = !!store.transaction([&] {
      RunRecord r = sample_run("app");
      (void)store.runs().create_run(r);
      return false;
    });
    return !inner;
  }));
  CHECK(count() == 2);
  // The rolled-back insert left no gap in the job's numbering.
  CHECK(store.runs().list_runs(1)[0].number == 2);
}

TEMPLATE_TEST_CASE("state persists across reopening and migrations run once", "[store]", Sqlite,
                   Postgresql) {
  TempDir dir;
  TestType db;
  int64_t id = 0;
  int version = 0;
  {
    Store store(dir.data(), db.url);
    version = store.schema_version();
    CHECK(version >= 1);
    RunRecord r = sample_run("app");
    id = store.runs().create_run(r).value();
    REQUIRE(id > 0);
    REQUIRE(store.runs().put_stage({id, "Build", "Build", 1, RunStatus::Succeeded}));
  }
  for (int i = 0; i < 2; ++i) {
    Store store(dir.data(), db.url);
    CHECK(store.schema_version() == version);
    auto r = store.runs().run(id).value();
    REQUIRE(r);
    CHECK(r->params.at("ENV") == "staging");
    CHECK(store.runs().stages(id).at(0).status == RunStatus::Succeeded);
    RunRecord next = sample_run("app");
    REQUIRE(store.runs().create_run(next).value() > 0);
    CHECK(next.number == 2 + i);
  }
}

TEST_CASE("states are stored as their words, and an unknown word does not stop a read", "[store]") {
  TempDir dir;
  std::string db = dir.data() + "/gantry.db";
  int64_t run_id = 0, approval_id = 0, release_id = 0;
  {
    Store store(dir.data());
    RunRecord r = sample_run("app");
    r.status = RunStatus::Unstable;
    run_id = store.runs().create_run(r).value();
    REQUIRE(store.runs().put_stage({run_id, "Build", "Build", 1, RunStatus::Skipped}));
    ApprovalRecord a;
    a.kind = GateKind::Input;
    a.run_id = run_id;
    a.status = ApprovalStatus::Expired;
    approval_id = store.gates().create_approval(a).value();
    ReleaseRecord rel;
    rel.run_id = run_id;
    rel.status = ReleaseStatus::RolledBack;
    release_id = store.gates().create_release(rel).value();
  }
  // The column text is what it was before the enums (no migration).
  CHECK(raw_query(db, "SELECT status FROM runs") == "unstable");
  CHECK(raw_query(db, "SELECT status FROM stages") == "skipped");
  CHECK(raw_query(db, "SELECT kind || ' ' || status FROM approvals") == "input expired");
  CHECK(raw_query(db, "SELECT status FROM releases") == "rolled_back");
  raw_query(db, "UPDATE runs SET status = 'paused'");
  raw_query(db, "UPDATE stages SET status = ''");
  raw_query(db, "UPDATE approvals SET kind = 'vote', status = 'maybe'");
  raw_query(db, "UPDATE releases SET status = 'half_done'");
  Store store(dir.data());
  CHECK(store.runs().run(run_id).value()->status == RunStatus::Failed);
  CHECK(store.runs().stages(run_id).at(0).status == RunStatus::Failed);
  std::optional<ApprovalRecord> a = store.gates().approval(approval_id).value();
  REQUIRE(a);
  CHECK(a->kind == GateKind::Gmud);
  CHECK(a->status == ApprovalStatus::Cancelled);
  std::optional<ReleaseRecord> rel = store.gates().release(release_id).value();
  REQUIRE(rel);
  CHECK(rel->status == ReleaseStatus::Failed);
}

TEST_CASE("the database uses WAL", "[store]") {
  TempDir dir;
  Store store(dir.data());
  CHECK(raw_query(store.data_dir() + "/gantry.db", "PRAGMA journal_mode") == "wal");
}

TEST_CASE("a database from a newer controller is refused", "[store]") {
  TempDir dir;
  int known = 0;
  {
    Store store(dir.data());
    known = store.schema_version();
  }
  std::string db = dir.data() + "/gantry.db";
  raw_query(db, "PRAGMA user_version = 99");
  CHECK_THROWS_WITH(Store(dir.data()), db + ": database schema 99 is newer than this controller (" +
                                           std::to_string(known) + ")");
  CHECK(raw_query(db, "PRAGMA user_version") == "99");
}

TEST_CASE("an unusable data directory or database is a startup error", "[store]") {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  CHECK_THROWS_WITH(Store((dir.path / "file" / "data").string()),
                    Catch::StartsWith("cannot create data directory "));
  fs::create_directories(dir.path / "junk");
  std::ofstream(dir.path / "junk" / "gantry.db") << std::string(4096, 'j');
  CHECK_THROWS_WITH(Store((dir.path / "junk").string()), Catch::Contains("file is not a database"));
}

TEST_CASE("log and artifact paths", "[store]") {
  TempDir dir;
  Store store(dir.data());
  std::string data = store.data_dir();
  CHECK(store.log_path(7, "Build", 1) == data + "/logs/7/Build/1.log");
  CHECK(fs::is_directory(data + "/logs/7/Build"));
  std::string unit = store.log_path(7, "Test / Unit", 2);
  CHECK(unit.rfind(data + "/logs/7/Test___Unit-", 0) == 0);
  CHECK(unit.size() == (data + "/logs/7/Test___Unit-0123456789abcdef/2.log").size());
  CHECK(store.log_path(7, "Test _ Unit", 2) != unit);
  CHECK(fs::is_directory(fs::path(unit).parent_path()));
  for (const char* id : {"..", ".", "", "a/../../b"}) {
    fs::path p = store.log_path(7, id, 1);
    INFO(p.string());
    CHECK(p.parent_path().parent_path() == fs::path(data + "/logs/7"));
  }
  CHECK(store.artifact_dir(7) == data + "/artifacts/7");
  CHECK(fs::is_directory(data + "/artifacts/7"));
}

TEMPLATE_TEST_CASE("summaries and filters of run lists", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  RunRecord a = sample_run("app");
  a.repo_name = "shop";
  a.commit = "c2";
  a.changes = {{"c1", "Al", "", "", "", "first", 1, {"a.txt"}},
               {"c2", "Bo", "", "", "", std::string(400, 'm'), 2, {"b.txt"}}};
  REQUIRE(store.runs().create_run(a).value() > 0);
  RunRecord b = sample_run("lib");
  b.ref = "refs/tags/v1";
  b.created_by = "bob";
  REQUIRE(store.runs().create_run(b).value() > 0);

  auto summaries = store.runs().list_runs(10, 0, "", true);
  REQUIRE(summaries.size() == 2);
  CHECK(summaries[1].pipeline_source.empty());
  CHECK(summaries[1].params.empty());
  REQUIRE(summaries[1].changes.size() == 1);  // only the run's own commit
  CHECK(summaries[1].changes[0].sha == "c2");
  CHECK(summaries[1].changes[0].message == std::string(300, 'm'));
  CHECK(summaries[1].changes[0].paths.empty());
  CHECK(summaries[0].changes.empty());

  const std::vector<std::string> shop = {"shop"}, none;
  CHECK(ids(store.runs().list_runs(10, 0, "", false, &shop)) == std::vector<int64_t>{a.id});
  CHECK(store.runs().list_runs(10, 0, "", true, &none).empty());
  RunFilter f;
  f.ref = "v1";
  CHECK(ids(store.runs().list_runs(10, 0, f)) == std::vector<int64_t>{b.id});
  f = {};
  f.job = "app";
  f.number = 1;
  f.repos = &shop;
  CHECK(ids(store.runs().list_runs(10, 0, f)) == std::vector<int64_t>{a.id});
  f = {};
  f.created_by = "bob";
  f.status = "queued";
  CHECK(ids(store.runs().list_runs(10, 0, f)) == std::vector<int64_t>{b.id});

  RunRecord c = sample_run("app");
  c.upstream_run = b.id;
  REQUIRE(store.runs().create_run(c).value() > 0);
  CHECK(ids(store.runs().downstream_of(b.id, 5)) == std::vector<int64_t>{c.id});
  CHECK(store.runs().list_runs(1, 0, "", true).at(0).upstream_run == b.id);
  a.status = RunStatus::Succeeded;
  REQUIRE(store.runs().update_run(a));
  CHECK(store.runs().last_run_with_commit("app", c.id, true)->id == a.id);
  CHECK_FALSE(store.runs().last_run_with_commit("app", a.id, false));

  REQUIRE(store.runs().set_repo_heads("shop", {{"refs/heads/main", "c2"}, {"refs/tags/v1", "c1"}}));
  REQUIRE(store.runs().set_repo_heads("shop", {{"refs/heads/main", "c3"}}));
  CHECK(store.runs().repo_heads("shop") ==
        std::map<std::string, std::string>{{"refs/heads/main", "c3"}});
}

TEMPLATE_TEST_CASE("change requests, decisions and releases", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  RunRecord run = sample_run("app");
  REQUIRE(store.runs().create_run(run).value() > 0);

  ApprovalRecord gmud;
  gmud.run_id = run.id;
  gmud.stage_id = "Deploy";
  gmud.environment = "prod";
  gmud.repo = "shop";
  gmud.status = ApprovalStatus::Pending;
  gmud.title = "ship it";
  gmud.instigators = {{"Al", "al@example.com", "pushed c1"}};
  REQUIRE(store.gates().create_approval(gmud).value() > 0);
  ApprovalRecord input = gmud;
  input.kind = GateKind::Input;
  input.repo = "other";
  REQUIRE(store.gates().create_approval(input).value() > gmud.id);

  REQUIRE(store.gates().add_decision(gmud.id, {"zed", true, "ok", 5, {{"k", "v"}}}));
  REQUIRE(store.gates().add_decision(gmud.id, {"amy", false, "no", 5, {}}));
  gantry::Status again = store.gates().add_decision(gmud.id, {"zed", false, "", 6, {}});
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == gantry::Errc::Conflict);
  CHECK(store.healthy());

  gmud.status = ApprovalStatus::Approved;
  gmud.decided_at = 7;
  gmud.values = {{"ticket", "CHG-1"}};
  REQUIRE(store.gates().update_approval(gmud));
  auto got = store.gates().approval(gmud.id).value();
  REQUIRE(got);
  CHECK(got->status == ApprovalStatus::Approved);
  CHECK(got->values.at("ticket") == "CHG-1");
  CHECK(got->instigators.at(0).what == "pushed c1");
  REQUIRE(got->decisions.size() == 2);
  CHECK(got->decisions[0].user == "amy");  // by time, then user
  CHECK(got->decisions[1].values.at("k") == "v");
  CHECK_FALSE(store.gates().approval(gmud.id + 100).value());

  const std::vector<std::string> shop = {"shop"};
  CHECK(store.gates().list_approvals(10).size() == 2);
  CHECK(store.gates().list_approvals(10, "approved").at(0).id == gmud.id);
  CHECK(store.gates().list_approvals(10, "", &shop).size() == 1);
  CHECK(store.gates().approvals_of_run(run.id).size() == 2);

  ReleaseRecord r1;
  r1.environment = "prod";
  r1.run_id = run.id;
  r1.stage_id = "Deploy";
  r1.repo = "shop";
  r1.status = ReleaseStatus::InProgress;
  REQUIRE(store.gates().create_release(r1).value() > 0);
  ReleaseRecord r2 = r1;
  r2.stage_id = "Deploy again";
  r2.environment = "staging";
  REQUIRE(store.gates().create_release(r2).value() > r1.id);
  CHECK_FALSE(store.gates().current_release("prod"));
  r1.status = ReleaseStatus::Succeeded;
  r1.finished_at = 9;
  r1.rolled_back_by = "amy";
  REQUIRE(store.gates().update_release(r1));
  CHECK(store.gates().current_release("prod")->id == r1.id);
  CHECK(store.gates().release(r1.id).value()->rolled_back_by == "amy");
  CHECK(store.gates().release_of(run.id, "Deploy again")->id == r2.id);
  CHECK(store.gates().list_releases(10).size() == 2);
  CHECK(store.gates().list_releases(10, "staging").at(0).id == r2.id);
  CHECK(store.gates().list_releases(10, "", &shop).size() == 2);
  CHECK(store.gates().succeeded_releases("prod", "shop", 5).size() == 1);
  std::vector<int64_t> in_use = store.retention().runs_in_use();
  CHECK(in_use == std::vector<int64_t>{run.id});
}

TEMPLATE_TEST_CASE("events are appended, read by cursor and pruned", "[store]", Sqlite,
                   Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  CHECK(store.events().last_event_id() == 0);
  std::vector<int64_t> appended;
  for (int i = 0; i < 6; ++i) {
    EventRecord e{
        0, i % 2 ? 7 : 8, "{\"n\":" + std::to_string(i) + "}", "Build", 1, uint64_t(i) * 10, 10};
    REQUIRE(store.events().append_event(e));
    appended.push_back(e.id);
  }
  CHECK(appended.back() == store.events().last_event_id());
  CHECK(store.events().events_after(0, 0, 100).size() == 6);
  auto of7 = store.events().events_after(appended[1], 7, 100);
  REQUIRE(of7.size() == 2);
  CHECK(of7[0].id == appended[3]);
  CHECK(of7[0].body == "{\"n\":3}");
  CHECK(of7[0].log_offset == 30);
  CHECK(store.events().log_events_end(7, "Build", 1) == 60);
  CHECK(store.events().log_events_end(7, "Test", 1) == 0);
  CHECK(store.events().prune_events_bounded(2, 1) == 1);
  CHECK(store.events().prune_events(2) == 3);
  CHECK(store.events().events_after(0, 0, 100).size() == 2);
  CHECK(store.events().last_event_id() == appended.back());
}

TEMPLATE_TEST_CASE("the audit log chains its entries", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  AuditRecord first{0, 1, "alice", "run.start", "run 1", {{"k", "v"}}, "", ""};
  AuditRecord second{0, 2, "bob", "gmud.approve", "GMUD-1", {}, "", ""};
  REQUIRE(store.audit().append_audit(first));
  REQUIRE(store.audit().append_audit(second));
  CHECK(first.id == 1);
  CHECK(second.id == 2);
  CHECK(second.prev_hash == first.hash);
  auto entries = store.audit().audit_entries(0, 10);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].details.at("k") == "v");
  CHECK(entries[1].hash == second.hash);
}

TEMPLATE_TEST_CASE("retention marks and finishes deletions", "[store]", Sqlite, Postgresql) {
  TempDir dir;
  TestType db;
  Store store(dir.data(), db.url);
  std::vector<int64_t> runs;
  for (RunStatus s : {RunStatus::Succeeded, RunStatus::Unstable, RunStatus::Running}) {
    RunRecord r = sample_run(runs.empty() ? "app" : "app");
    r.status = s;
    REQUIRE(store.runs().create_run(r).value() > 0);
    runs.push_back(r.id);
  }
  RunRecord lib = sample_run("lib");
  REQUIRE(store.runs().create_run(lib).value() > 0);
  CHECK(store.retention().run_activity() == std::pair<int64_t, int64_t>{lib.id, 2});
  CHECK(store.retention().next_job_name("") == "app");
  CHECK(store.retention().next_job_name("app") == "lib");
  CHECK(store.retention().next_job_name("lib").empty());
  CHECK(store.retention().nth_newest_run("app", 2) == runs[1]);
  CHECK(store.retention().nth_newest_run("app", 4) == 0);
  CHECK(store.retention().newest_good_run("app", false, 0) == runs[0]);
  CHECK(store.retention().newest_good_run("app", true, 0) == runs[1]);
  CHECK(store.retention().run_discarders("app", 10).size() == 2);
  REQUIRE(store.retention().set_run_discarder(runs[0], "logRotator(numToKeep: 1)"));
  CHECK(store.retention().run_discarders("app", 10).back().discarder == "logRotator(numToKeep: 1)");
  CHECK(store.retention().retention_runs("app", 0, RetentionStore::kPruneLogs, 10).size() == 3);

  REQUIRE(store.retention().mark_prune({runs[0]}, RetentionStore::kPruneRun));
  REQUIRE(store.retention().mark_prune({runs[1]}, RetentionStore::kPruneLogs));
  REQUIRE(store.retention().mark_prune({runs[2]}, RetentionStore::kPruneLogs));  // running: no
  auto pending = store.retention().pending_prunes(10);
  REQUIRE(pending.size() == 2);
  CHECK(pending[1] == std::pair<int64_t, int>{runs[1], RetentionStore::kPruneLogs});
  CHECK(store.retention().retention_runs("app", 0, 0, 10).size() == 1);
  REQUIRE(store.retention().finish_prune({runs[0], runs[1]}));
  CHECK_FALSE(store.runs().run(runs[0]).value());
  CHECK(store.retention().pruned_parts(runs[1]) == RetentionStore::kPruneLogs);
  CHECK(store.retention().pending_prunes(10).empty());
  CHECK(store.retention().retention_runs("app", 0, RetentionStore::kPruneLogs, 10).size() == 1);
  CHECK(store.retention().retention_runs("app", 0, RetentionStore::kPruneArtifacts, 10).size() ==
        2);
}

// ---- PostgreSQL only

namespace {

using gantry::test::PostgresqlCluster;

}  // namespace

TEST_CASE("postgresql: SQLite's SQL is rewritten for PostgreSQL", "[store][postgresql]") {
  int params = 0;
  CHECK(postgresql_sql("SELECT a FROM t INDEXED BY t_a WHERE a = ?1 AND b IN (SELECT value FROM "
                       "json_each(?12)) AND c = '?3'",
                       params) ==
        "SELECT a FROM t WHERE a = $1 AND b IN (SELECT value FROM "
        "json_array_elements_text($12::json)) AND c = '?3'");
  CHECK(params == 12);
}

TEST_CASE("postgresql: the schema is versioned and a newer one is refused", "[store][postgresql]") {
  TempDir dir;
  Postgresql db;
  PostgresqlCluster& cluster = PostgresqlCluster::instance();
  const std::string name = PostgresqlCluster::database_of(db.url);
  int known = 0;
  {
    Store store(dir.data(), db.url);
    known = store.schema_version();
    CHECK(known >= 14);
  }
  CHECK(cluster.sql(name, "SELECT version FROM schema_version") == std::to_string(known));
  CHECK(cluster.sql(name,
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                    "'public'") == "12");  // 10 tables, leader_lease and schema_version
  // The column text is the state's word, as on SQLite.
  {
    Store store(dir.data(), db.url);
    RunRecord r = sample_run("app");
    r.status = RunStatus::Unstable;
    REQUIRE(store.runs().create_run(r).value() > 0);
  }
  CHECK(cluster.sql(name, "SELECT status FROM runs") == "unstable");
  cluster.sql(name, "UPDATE runs SET status = 'paused'");
  {
    Store store(dir.data(), db.url);
    CHECK(store.runs().list_runs(1).at(0).status == RunStatus::Failed);
  }
  cluster.sql(name, "UPDATE schema_version SET version = 99");
  CHECK_THROWS_WITH(Store(dir.data(), db.url),
                    Catch::EndsWith(": database schema 99 is newer than this controller (" +
                                    std::to_string(known) + ")"));
}

TEST_CASE("postgresql: a bad URL or an unreachable server is a startup error",
          "[store][postgresql]") {
  TempDir dir;
  CHECK_THROWS_WITH(Store(dir.data(), "postgresql://nobody:secret@127.0.0.1:1/none"),
                    Catch::StartsWith("cannot connect to PostgreSQL at "
                                      "postgresql://nobody:***@127.0.0.1:1/none: "));
  CHECK_THROWS_WITH(Store(dir.data(), "postgresql://127.0.0.1:5432/db?bogus=1"),
                    Catch::Contains("invalid URI query parameter"));
  PostgresqlCluster& cluster = PostgresqlCluster::instance();
  CHECK_THROWS_WITH(Store(dir.data(), cluster.url("no_such_database")),
                    Catch::Contains("\"no_such_database\" does not exist"));
}

TEST_CASE("postgresql: a lost connection is Unavailable, and the next statement reconnects",
          "[store][postgresql]") {
  TempDir dir;
  Postgresql db;
  PostgresqlCluster& cluster = PostgresqlCluster::instance();
  Store store(dir.data(), db.url);
  RunRecord a = sample_run("app");
  REQUIRE(store.runs().create_run(a).value() > 0);

  cluster.stop();
  RunRecord b = sample_run("app");
  auto lost = store.runs().create_run(b);
  REQUIRE_FALSE(lost.has_value());
  CHECK(lost.error().code == gantry::Errc::Unavailable);
  CHECK_FALSE(store.healthy());
  auto down = store.runs().run(a.id);  // reconnecting fails: still down
  REQUIRE_FALSE(down.has_value());
  CHECK(down.error().code == gantry::Errc::Unavailable);
  gantry::Status in_tx = store.transaction([&] { return true; });
  REQUIRE_FALSE(in_tx.has_value());
  CHECK(in_tx.error().code == gantry::Errc::Unavailable);

  cluster.start();
  REQUIRE(store.runs().create_run(b).value() > 0);  // reconnected, statements prepared again
  CHECK(store.healthy());
  CHECK(b.number == 2);
  CHECK(store.runs().run(a.id).value()->job_name == "app");
}

TEST_CASE("postgresql: text that is not UTF-8 is stored with U+FFFD for each bad byte",
          "[store][postgresql]") {
  TempDir dir;
  Postgresql db;
  Store store(dir.data(), db.url);
  RunRecord r = sample_run("app");
  r.author = std::string("Jos\xe9 \xc3\xa9 \xed\xa0\x80 x\0y", 15);
  REQUIRE(store.runs().create_run(r).value() > 0);
  CHECK(store.runs().run(r.id).value()->author ==
        "Jos\xef\xbf\xbd \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd x\xef\xbf\xbdy");
}

TEST_CASE("postgresql: a statement is prepared once per types of its parameters",
          "[store][postgresql]") {
  Postgresql db;
  gantry::controller::PostgresqlDatabase pg(db.url);
  // The parameter alternates between an integer and NULL (text): two server-side
  // statements, reused, not a new one at every change.
  for (int64_t i = 0; i < 20; ++i) {
    auto st = pg.prepare("SELECT CASE WHEN ?1 IS NULL THEN 1 ELSE 0 END");
    if (i % 2 == 1) st.bind(1, i);
    REQUIRE(st.next());
    CHECK(st.int64(0) == (i % 2 == 1 ? 0 : 1));
  }
  auto count = pg.prepare(
      "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT CASE WHEN $1 IS NULL "
      "THEN 1 ELSE 0 END'");
  REQUIRE(count.next());
  CHECK(count.int64(0) == 2);
}
