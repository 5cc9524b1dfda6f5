// `gantry-controller --migrate-sqlite` (store/migrate_sqlite.hpp): a SQLite store filled through
// the Store API, copied into a fresh database of the throwaway PostgreSQL cluster, read back
// through a Store on PostgreSQL; refusals change nothing.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "../support/postgresql_cluster.hpp"
#include "audit.hpp"
#include "store/migrate_sqlite.hpp"
#include "store/store.hpp"

using namespace gantry::controller;
using gantry::ApprovalStatus;
using gantry::ReleaseStatus;
using gantry::RunStatus;
using gantry::test::PostgresqlCluster;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gantry-migrate-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string data() const { return (path / "data").string(); }
};

RunRecord run_of(const std::string& job, const std::string& author) {
  RunRecord r;
  r.job_name = job;
  r.repo_url = "file:///srv/git/" + job + ".git";
  r.ref = "refs/heads/main";
  r.commit = "0123456789abcdef0123456789abcdef01234567";
  r.author = author;
  r.pipeline_source = "pipeline { agent any\n stages { } }\n";
  r.params = {{"ENV", "staging"}, {"quote", "a \"b\" \n c"}};
  r.created_by = "alice";
  r.created_at = 1700000000000;
  return r;
}

struct Filled {
  std::vector<RunRecord> runs;
  int64_t approval = 0, release = 0, last_event = 0;
  std::vector<AuditRecord> audit;
};

// Runs of two jobs (one author in Latin-1), stages, an agent, an artifact, a repository head, a
// change request with a decision, a release, events and audit entries.
Filled fill(Store& store) {
  Filled f;
  for (const char* job : {"app", "lib", "app"}) {
    RunRecord r = run_of(job, std::string(job) == "lib" ? "Jos\xe9 <latin1@example.com>" : "Al");
    REQUIRE(store.runs().create_run(r).value() > 0);
    f.runs.push_back(r);
  }
  f.runs[0].status = RunStatus::Succeeded;
  f.runs[0].finished_at = 1700000009000;
  REQUIRE(store.runs().update_run(f.runs[0]));
  StageRecord build{f.runs[0].id, "Build", "Build", 1};
  build.status = RunStatus::Succeeded;
  build.epoch = UINT64_MAX;
  build.log_bytes = 1234;
  REQUIRE(store.runs().put_stage(build));
  REQUIRE(store.runs().put_stage({f.runs[0].id, "Deploy", "Deploy", 2}));
  REQUIRE(store.runs().put_agent({"id-1", "alpha", {"linux"}, 2, 50, "pool"}));
  REQUIRE(store.runs().add_artifact({f.runs[0].id, "artifact", "app.tar", "Build", 20, "f", 2}));
  REQUIRE(store.runs().set_repo_heads("shop", {{"refs/heads/main", "abc"}}));

  ApprovalRecord gmud;
  gmud.run_id = f.runs[0].id;
  gmud.stage_id = "Deploy";
  gmud.environment = "prod";
  gmud.status = ApprovalStatus::Approved;
  gmud.title = "ship it";
  REQUIRE(store.gates().create_approval(gmud).value() > 0);
  REQUIRE(store.gates().add_decision(gmud.id, {"zed", true, "ok", 5, {{"k", "v"}}}));
  f.approval = gmud.id;
  ReleaseRecord rel;
  rel.environment = "prod";
  rel.run_id = f.runs[0].id;
  rel.stage_id = "Deploy";
  rel.status = ReleaseStatus::Succeeded;
  REQUIRE(store.gates().create_release(rel).value() > 0);
  f.release = rel.id;

  for (int i = 0; i < 5; ++i) {
    EventRecord e{0, f.runs[0].id, "{\"n\":" + std::to_string(i) + "}", "Build", 1, 0, 0};
    REQUIRE(store.events().append_event(e));
  }
  f.last_event = store.events().last_event_id();
  for (int i = 0; i < 3; ++i) {
    AuditRecord a{0,  100 + i, "alice", "run.start", "run " + std::to_string(i), {{"n", "1"}},
                  "", ""};
    REQUIRE(store.audit().append_audit(a));
    f.audit.push_back(a);
  }
  return f;
}

// SQL on the SQLite file beside the store (a controller would not be running).
void sqlite_exec(const std::string& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((fs::path(data_dir) / "gantry.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("migrate-sqlite: every record comes back from PostgreSQL with its id",
          "[store][postgresql][migrate]") {
  TempDir dir;
  Filled f;
  {
    Store sqlite(dir.data());
    f = fill(sqlite);
    REQUIRE(sqlite.runs().delete_stages(f.runs[2].id));
  }
  // The newest events pruned by hand: ids must not be handed out again after the copy.
  sqlite_exec(dir.data(), "DELETE FROM events WHERE id > " + std::to_string(f.last_event - 2));

  const std::string url = PostgresqlCluster::instance().fresh_database_url();
  auto migrated = migrate_sqlite(dir.data(), url);
  if (!migrated) FAIL(migrated.error().message);
  std::map<std::string, int64_t> rows(migrated->tables.begin(), migrated->tables.end());
  CHECK(rows.at("runs") == 3);
  CHECK(rows.at("stages") == 2);
  CHECK(rows.at("events") == 3);
  CHECK(rows.at("audit") == 3);
  CHECK(rows.at("decisions") == 1);
  CHECK_FALSE(rows.contains("schema_version"));
  CHECK_FALSE(rows.contains("leader_lease"));
  // Parents before children (foreign keys).
  auto at = [&](const std::string& table) {
    for (size_t i = 0; i < migrated->tables.size(); ++i)
      if (migrated->tables[i].first == table) return i;
    return migrated->tables.size();
  };
  CHECK(at("runs") < at("stages"));
  CHECK(at("approvals") < at("decisions"));
  CHECK(migrated->audit_entries == 3);
  CHECK(migrated->audit_broken_at == 0);
  const std::string said = describe(*migrated, dir.data());
  CHECK_THAT(said, Catch::Contains("\n  runs        3 rows\n"));
  CHECK_THAT(said, Catch::Contains("data_dir at that same directory"));

  Store pg(dir.data(), url);
  for (const RunRecord& want : f.runs) {
    auto got = pg.runs().run(want.id).value();
    REQUIRE(got);
    CHECK(got->job_name == want.job_name);
    CHECK(got->number == want.number);
    CHECK(got->params == want.params);
    CHECK(got->pipeline_source == want.pipeline_source);
    CHECK(got->created_at == want.created_at);
  }
  CHECK(pg.runs().run(f.runs[0].id).value()->status == RunStatus::Succeeded);
  // Latin-1 from SQLite: U+FFFD in PostgreSQL, as the engine stores it.
  CHECK(pg.runs().run(f.runs[1].id).value()->author == "Jos\xef\xbf\xbd <latin1@example.com>");
  auto stages = pg.runs().stages(f.runs[0].id);
  REQUIRE(stages.size() == 2);
  CHECK(stages[0].epoch == UINT64_MAX);
  CHECK(stages[0].log_bytes == 1234);
  CHECK(pg.runs().agents().at(0).labels == std::vector<std::string>{"linux"});
  CHECK(pg.runs().artifact(f.runs[0].id, "artifact", "app.tar")->size == 20);
  CHECK(pg.runs().repo_heads("shop").at("refs/heads/main") == "abc");
  auto gmud = pg.gates().approval(f.approval).value();
  REQUIRE(gmud);
  CHECK(gmud->decisions.at(0).values.at("k") == "v");
  CHECK(pg.gates().current_release("prod")->id == f.release);
  CHECK(pg.events().events_after(0, 0, 100).size() == 3);
  CHECK(pg.events().last_event_id() == f.last_event);

  auto audit = pg.audit().audit_entries(0, 100);
  REQUIRE(audit.size() == 3);
  CHECK(audit[2].hash == f.audit[2].hash);
  CHECK(verify_chain(audit).ok);

  // New records get fresh ids: the sequences are past the copied ones (and past the pruned
  // events).
  RunRecord next = run_of("app", "Al");
  REQUIRE(pg.runs().create_run(next).value() == f.runs.back().id + 1);
  CHECK(next.number == 3);
  ApprovalRecord another = *gmud;
  REQUIRE(pg.gates().create_approval(another).value() == f.approval + 1);
  EventRecord e{0, next.id, "{}", "", 0, 0, 0};
  REQUIRE(pg.events().append_event(e));
  CHECK(e.id == f.last_event + 1);
  AuditRecord more{0, 200, "bob", "run.start", "run 4", {}, "", ""};
  REQUIRE(pg.audit().append_audit(more));
  CHECK(more.id == 4);
  CHECK(verify_chain(pg.audit().audit_entries(0, 100)).ok);

  // A second copy into the database, now holding records, is refused and changes nothing.
  const std::string name = PostgresqlCluster::database_of(url);
  const std::string before = PostgresqlCluster::instance().sql(name, "SELECT count(*) FROM runs");
  auto again = migrate_sqlite(dir.data(), url);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == gantry::Errc::Invalid);
  CHECK_THAT(again.error().message, Catch::Contains("already holds records (") &&
                                        Catch::Contains("runs: 4") &&
                                        Catch::Contains("nothing was changed"));
  CHECK(PostgresqlCluster::instance().sql(name, "SELECT count(*) FROM runs") == before);
  CHECK(PostgresqlCluster::instance().sql(name, "SELECT count(*) FROM audit") == "4");
}

TEST_CASE("migrate-sqlite: a source in use or of another schema is refused",
          "[store][postgresql][migrate]") {
  TempDir dir;
  { Store sqlite(dir.data()); }
  const std::string url = PostgresqlCluster::instance().fresh_database_url();
  const std::string name = PostgresqlCluster::database_of(url);

  SECTION("no database") {
    auto r = migrate_sqlite((dir.path / "nothing").string(), url);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::StartsWith("no database at "));
  }
  SECTION("not a PostgreSQL URL") {
    auto r = migrate_sqlite(dir.data(), "sqlite:///x");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == gantry::Errc::Invalid);
  }
  SECTION("open in another process, as a running controller has it") {
    int ready[2], done[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(done) == 0);
    const std::string path = (fs::path(dir.data()) / "gantry.db").string();
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(ready[0]);
      ::close(done[1]);
      sqlite3* db = nullptr;
      sqlite3_open(path.c_str(), &db);
      sqlite3_exec(db, "SELECT count(*) FROM runs", nullptr, nullptr, nullptr);
      char c = 'r';
      (void)!::write(ready[1], &c, 1);
      (void)!::read(done[0], &c, 1);  // until the parent closes its end
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(done[0]);
    char c = 0;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    auto r = migrate_sqlite(dir.data(), url);
    ::close(done[1]);
    ::close(ready[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("is open in process " + std::to_string(child)) &&
                                      Catch::Contains("stop it first"));
  }
  SECTION("an older schema") {
    sqlite_exec(dir.data(), "PRAGMA user_version = 3");
    auto r = migrate_sqlite(dir.data(), url);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("has schema 3") &&
                                      Catch::Contains("start this controller on it once"));
  }
  // Nothing reached the target: not even its schema.
  CHECK(PostgresqlCluster::instance().sql(
            name, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'") ==
        "0");
}

TEST_CASE("migrate-sqlite: an audit chain already broken in SQLite is copied as it is",
          "[store][postgresql][migrate]") {
  TempDir dir;
  {
    Store sqlite(dir.data());
    AuditRecord a{0, 1, "alice", "run.start", "run 1", {}, "", ""};
    REQUIRE(sqlite.audit().append_audit(a));
    AuditRecord b{0, 2, "bob", "run.start", "run 2", {}, "", ""};
    REQUIRE(sqlite.audit().append_audit(b));
  }
  sqlite_exec(dir.data(), "UPDATE audit SET actor = 'mallory' WHERE id = 1");
  auto r = migrate_sqlite(dir.data(), PostgresqlCluster::instance().fresh_database_url());
  if (!r) FAIL(r.error().message);
  CHECK(r->audit_broken_at == 1);
  CHECK(r->audit_entries == 2);
  CHECK_THAT(describe(*r, dir.data()), Catch::Contains("as it already was in SQLite"));
}
