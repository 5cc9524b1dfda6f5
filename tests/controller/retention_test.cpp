// The retention service on a real store in a temporary directory, with a
// fake clock: keep_last and the age limits, a job's buildDiscarder, the runs
// it never deletes, bounded slices, and a deletion a crash cut in half. The
// TEMPLATE_TEST_CASEs run on SQLite and on a throwaway PostgreSQL cluster.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "../support/postgresql_cluster.hpp"
#include "config.hpp"
#include "service/retention.hpp"
#include "store/store.hpp"

using namespace gantry::controller;
using gantry::GateKind;
using gantry::parse_run_status;
using gantry::ReleaseStatus;
using gantry::RunStatus;
using gantry::test::Postgresql;
using gantry::test::Sqlite;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kDay = RetentionConfig::kDayMs;

const char* const kPlain =
    "pipeline {\n  agent any\n  stages { stage('Build') { steps { sh 'make' } } }\n}\n";

std::string with_discarder(const std::string& args) {
  return "pipeline {\n  agent any\n  options { buildDiscarder(logRotator(" + args +
         ")) }\n  stages { stage('Build') { steps { sh 'make' } } }\n}\n";
}

bool finished(const std::string& status) {
  return status != "queued" && status != "waiting" && status != "running";
}

// Everything off, so that each case turns on what it tests.
RetentionConfig no_limits() {
  RetentionConfig c;
  c.runs_ms = c.logs_ms = c.artifacts_ms = RetentionConfig::kUnlimited;
  c.keep_last = c.events = RetentionConfig::kUnlimited;
  return c;
}

struct Fixture {
  fs::path dir;
  std::unique_ptr<Store> store;
  int64_t now = 1'800'000'000'000;
  RetentionConfig config = no_limits();

  std::string url;  // the store's database: empty for SQLite in data()

  explicit Fixture(std::string database_url = {}) : url(std::move(database_url)) {
    std::string tmpl = (fs::temp_directory_path() / "gantry-retention-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    store = std::make_unique<Store>(data(), url);
  }
  ~Fixture() {
    store.reset();
    fs::remove_all(dir);
  }
  std::string data() const { return (dir / "data").string(); }

  // A run of `job` that ended `ago` ms before now (or is still `status`),
  // with a stage, a log file, an artifact, a stash and two events.
  int64_t add_run(const std::string& job, const std::string& status, int64_t ago,
                  const std::string& pipeline = kPlain) {
    RunRecord r;
    r.job_name = job;
    r.status = parse_run_status(status).value();
    r.pipeline_source = pipeline;
    r.pipeline_format = "jenkinsfile";
    r.created_at = now - ago - 60000;
    r.started_at = r.created_at + 1000;
    r.finished_at = finished(status) ? now - ago : 0;
    (void)store->runs().create_run(r);
    REQUIRE(r.id > 0);
    StageRecord st;
    st.run_id = r.id;
    st.stage_id = "Build";
    st.name = "Build";
    st.status = finished(status) ? r.status : RunStatus::Running;
    st.attempts = 1;
    (void)store->runs().put_stage(st);
    std::ofstream(store->log_path(r.id, "Build", 1)) << "log of " << r.id << "\n";
    fs::path files = fs::path(store->artifact_dir(r.id)) / "files";
    fs::create_directories(files);
    std::ofstream(files / "out.txt") << "artifact\n";
    for (const char* kind : {"artifact", "stash"}) {
      ArtifactRecord a;
      a.run_id = r.id;
      a.kind = kind;
      a.name = "out.txt";
      a.stage_id = "Build";
      a.file = (files / "out.txt").string();
      (void)store->runs().add_artifact(a);
    }
    EventRecord run_event;
    run_event.run_id = r.id;
    run_event.body = R"({"type":"run"})";
    (void)store->events().append_event(run_event);
    EventRecord log_event;
    log_event.run_id = r.id;
    log_event.body = R"({"type":"log"})";
    log_event.log_stage = "Build";
    log_event.log_attempt = 1;
    log_event.log_length = 8;
    (void)store->events().append_event(log_event);
    return r.id;
  }

  Retention retention(RetentionOptions options = {}) {
    return Retention(
        *store, config, [this] { return now; }, options);
  }
  // Slices until one says nothing is left (bounded).
  int drain(Retention& r) {
    for (int i = 1; i <= 200; ++i) {
      if (!r.run_slice().more) return i;
    }
    FAIL("retention never finished");
    return 0;
  }

  std::vector<int64_t> runs(const std::string& job) {
    std::vector<int64_t> out;
    for (const RunRecord& r : store->runs().list_runs(10000)) {
      if (r.job_name == job) out.push_back(r.id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  bool has_logs(int64_t id) const { return fs::exists(dir / "data" / "logs" / std::to_string(id)); }
  bool has_artifact_files(int64_t id) const {
    return fs::exists(dir / "data" / "artifacts" / std::to_string(id));
  }
  size_t events_of(int64_t id) { return store->events().events_after(0, id, 1000).size(); }
  size_t log_events_of(int64_t id) {
    size_t n = 0;
    for (const EventRecord& e : store->events().events_after(0, id, 1000)) n += e.log_length > 0;
    return n;
  }
};

using Ids = std::vector<int64_t>;

}  // namespace

TEMPLATE_TEST_CASE(
    "keep_last keeps each job's newest runs, the others go with files, stages, artifacts "
    "and events",
    "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 3;
  Ids a, b;
  for (int i = 0; i < 6; ++i) a.push_back(f.add_run("app", "failed", (10 - i) * 60000));
  for (int i = 0; i < 2; ++i) b.push_back(f.add_run("lib", "failed", 60000));
  Retention r = f.retention();
  f.drain(r);

  CHECK(f.runs("app") == Ids{a[3], a[4], a[5]});
  CHECK(f.runs("lib") == b);
  for (int i = 0; i < 3; ++i) {
    INFO("deleted run " << a[i]);
    CHECK_FALSE(f.has_logs(a[i]));
    CHECK_FALSE(f.has_artifact_files(a[i]));
    CHECK(f.store->runs().stages(a[i]).empty());
    CHECK(f.store->runs().artifacts(a[i]).empty());
    CHECK(f.events_of(a[i]) == 0);
    CHECK(f.store->retention().pruned_parts(a[i]) == 0);
  }
  for (int64_t id : {a[3], a[4], a[5], b[0], b[1]}) {
    INFO("kept run " << id);
    CHECK(f.has_logs(id));
    CHECK(f.has_artifact_files(id));
    CHECK(f.store->runs().stages(id).size() == 1);
    CHECK(f.store->runs().artifacts(id).size() == 2);
    CHECK(f.events_of(id) == 2);
  }
}

TEMPLATE_TEST_CASE("age limits: old runs go, older logs and artifacts go while their runs stay",
                   "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.runs_ms = 90 * kDay;
  f.config.logs_ms = 30 * kDay;
  f.config.artifacts_ms = 14 * kDay;
  const int64_t ancient = f.add_run("app", "failed", 100 * kDay);
  const int64_t old = f.add_run("app", "failed", 40 * kDay);
  const int64_t middle = f.add_run("app", "failed", 20 * kDay);
  const int64_t young = f.add_run("app", "failed", 1 * kDay);
  Retention r = f.retention();
  f.drain(r);

  CHECK(f.runs("app") == Ids{old, middle, young});
  CHECK_FALSE(f.has_logs(ancient));
  // 40 days: logs and artifacts gone, the run and its stages kept.
  CHECK_FALSE(f.has_logs(old));
  CHECK_FALSE(f.has_artifact_files(old));
  CHECK(f.store->runs().artifacts(old).empty());
  CHECK(f.store->runs().stages(old).size() == 1);
  CHECK(f.log_events_of(old) == 0);
  CHECK(f.events_of(old) == 1);  // the run event stays
  CHECK(f.store->retention().pruned_parts(old) ==
        (RetentionStore::kPruneLogs | RetentionStore::kPruneArtifacts));
  // 20 days: only the artifacts.
  CHECK(f.has_logs(middle));
  CHECK_FALSE(f.has_artifact_files(middle));
  CHECK(f.store->retention().pruned_parts(middle) == RetentionStore::kPruneArtifacts);
  CHECK(f.log_events_of(middle) == 1);
  // 1 day: everything.
  CHECK(f.has_logs(young));
  CHECK(f.has_artifact_files(young));
  CHECK(f.store->retention().pruned_parts(young) == 0);

  SECTION("time passes: the next pass takes the next ones") {
    f.now += 80 * kDay;
    f.drain(r);
    CHECK(f.runs("app") == Ids{young});
    CHECK_FALSE(f.has_logs(young));
  }
}

TEMPLATE_TEST_CASE("a job's buildDiscarder replaces the config for that job only", "[retention]",
                   Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 5;
  f.config.logs_ms = 1 * kDay;  // not for the job with a discarder: logs go with their run
  Ids a, b;
  for (int i = 0; i < 6; ++i) {
    a.push_back(f.add_run("app", "failed", (10 - i) * kDay,
                          with_discarder("numToKeepStr: '3', artifactNumToKeepStr: '1'")));
    b.push_back(f.add_run("lib", "failed", (10 - i) * kDay));
  }
  Retention r = f.retention();
  f.drain(r);

  CHECK(f.runs("app") == Ids{a[3], a[4], a[5]});
  CHECK(f.has_logs(a[3]));
  CHECK_FALSE(f.has_artifact_files(a[3]));
  CHECK_FALSE(f.has_artifact_files(a[4]));
  CHECK(f.has_artifact_files(a[5]));
  CHECK(f.runs("lib") == Ids{b[1], b[2], b[3], b[4], b[5]});
  CHECK_FALSE(f.has_logs(b[5]));  // a day old: the config's logs limit
  // The run carries what retention read from its pipeline.
  auto d = f.store->retention().run_discarders("app", 1);
  REQUIRE(d.size() == 1);
  CHECK(d[0].discarder == "logRotator num=3 days=-1 artifact_num=1 artifact_days=-1");

  SECTION("the newest run's discarder is the job's: without one, the config again") {
    a.push_back(f.add_run("app", "failed", 0));
    f.drain(r);
    CHECK(f.runs("app") == Ids{a[3], a[4], a[5], a[6]});
    CHECK_FALSE(f.has_logs(a[3]));
  }
  SECTION("daysToKeep and the integer forms") {
    a.push_back(f.add_run("app", "failed", 0, with_discarder("daysToKeep: 2, numToKeep: -1")));
    f.drain(r);
    CHECK(f.runs("app") == Ids{a[6]});
  }
  SECTION("a newest run whose pipeline does not load does not change the job's discarder") {
    a.push_back(f.add_run("app", "failed", 0, "pipeline {"));
    f.drain(r);
    CHECK(f.runs("app") == Ids{a[4], a[5], a[6]});
  }
}

TEMPLATE_TEST_CASE("never deleted: unfinished runs and the newest succeeded and unstable runs",
                   "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 1;
  f.config.runs_ms = 1 * kDay;
  const int64_t older_success = f.add_run("app", "succeeded", 50 * kDay);
  const int64_t newest_success = f.add_run("app", "succeeded", 49 * kDay);
  const int64_t unstable = f.add_run("app", "unstable", 48 * kDay);
  const int64_t failed = f.add_run("app", "failed", 47 * kDay);
  const int64_t waiting = f.add_run("app", "waiting", 46 * kDay);
  const int64_t running = f.add_run("app", "running", 45 * kDay);
  const int64_t aborted = f.add_run("app", "aborted", 44 * kDay);
  const int64_t newest = f.add_run("app", "failed", 0);
  Retention r = f.retention();
  f.drain(r);
  (void)older_success;
  (void)failed;
  (void)aborted;
  // newest_success is Jenkins' lastStable build, unstable its lastSuccessful.
  CHECK(f.runs("app") == Ids{newest_success, unstable, waiting, running, newest});
  CHECK(f.has_logs(newest_success));
  CHECK(f.has_artifact_files(unstable));
  CHECK(f.has_logs(running));
}

TEMPLATE_TEST_CASE("never deleted: the runs of a current release and of a pending approval",
                   "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 1;
  const int64_t released = f.add_run("app", "failed", 10 * kDay);
  const int64_t replaced = f.add_run("app", "failed", 9 * kDay);
  const int64_t approving = f.add_run("app", "failed", 8 * kDay);
  const int64_t plain = f.add_run("app", "failed", 7 * kDay);
  const int64_t newest = f.add_run("app", "failed", 0);
  ReleaseRecord current;  // staging's newest succeeded release
  current.environment = "staging";
  current.run_id = released;
  current.stage_id = "Build";
  current.status = ReleaseStatus::Succeeded;
  (void)f.store->gates().create_release(current);
  ReleaseRecord older;  // an older release of production, since replaced
  older.environment = "production";
  older.run_id = replaced;
  older.stage_id = "Build";
  older.status = ReleaseStatus::Succeeded;
  (void)f.store->gates().create_release(older);
  ReleaseRecord newer = older;
  newer.run_id = newest;
  (void)f.store->gates().create_release(newer);
  ApprovalRecord pending;
  pending.kind = GateKind::Gmud;
  pending.run_id = approving;
  pending.stage_id = "Build";
  (void)f.store->gates().create_approval(pending);
  Retention r = f.retention();
  f.drain(r);
  (void)plain;
  CHECK(f.runs("app") == Ids{released, approving, newest});
}

TEMPLATE_TEST_CASE("slices are bounded and repeated slices finish the work", "[retention]", Sqlite,
                   Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 2;
  Ids ids;
  for (int i = 0; i < 30; ++i) ids.push_back(f.add_run("app", "failed", (40 - i) * 60000));
  RetentionOptions o;
  o.max_runs = 7;
  o.budget_ms = 60000;  // the count bounds these slices, not a loaded machine
  Retention r = f.retention(o);
  Retention::Slice first = r.run_slice();
  CHECK(first.runs == 7);
  CHECK(first.more);
  CHECK(f.runs("app").size() == 23);
  CHECK(f.runs("app").front() == ids[7]);  // oldest first
  int slices = 1 + f.drain(r);
  CHECK(slices >= 4);
  CHECK(f.runs("app") == Ids{ids[28], ids[29]});
  CHECK_FALSE(r.run_slice().more);
}

TEMPLATE_TEST_CASE("a deletion a crash cut halfway is finished after a restart", "[retention]",
                   Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  const int64_t doomed = f.add_run("app", "failed", 10 * kDay);
  const int64_t trimmed = f.add_run("app", "failed", 9 * kDay);
  const int64_t kept = f.add_run("app", "failed", 0);
  // The crash: both marked, the first's logs already deleted, no rows yet.
  REQUIRE(f.store->retention().mark_prune({doomed}, RetentionStore::kPruneRun));
  REQUIRE(f.store->retention().mark_prune({trimmed}, RetentionStore::kPruneLogs));
  fs::remove_all(f.store->run_logs_dir(doomed));
  f.store.reset();

  f.store = std::make_unique<Store>(f.data(), f.url);
  CHECK(f.store->retention().pending_prunes(10).size() == 2);
  Retention r = f.retention();  // no limits at all: only the marks are finished
  r.tick();
  CHECK(f.store->retention().pending_prunes(10).empty());
  CHECK(f.runs("app") == Ids{trimmed, kept});
  CHECK_FALSE(f.has_artifact_files(doomed));
  CHECK(f.store->runs().stages(doomed).empty());
  CHECK(f.events_of(doomed) == 0);
  CHECK_FALSE(f.has_logs(trimmed));
  CHECK(f.has_artifact_files(trimmed));
  CHECK(f.store->retention().pruned_parts(trimmed) == RetentionStore::kPruneLogs);
  CHECK(f.has_logs(kept));
}

TEMPLATE_TEST_CASE("files that will not go leave their run marked, and the next slice tries again",
                   "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 1;
  const int64_t old = f.add_run("app", "failed", 10 * kDay);
  const int64_t kept = f.add_run("app", "failed", 0);
  bool disk_fails = true;
  RetentionOptions o;
  o.remove_tree = [&](const std::string& path) {
    if (disk_fails) return std::make_error_code(std::errc::io_error);
    std::error_code ec;
    fs::remove_all(path, ec);
    return ec;
  };
  Retention r = f.retention(o);
  Retention::Slice s = r.run_slice();
  CHECK(s.runs == 0);
  CHECK(s.more);
  CHECK(f.runs("app") == Ids{old, kept});
  CHECK(f.store->retention().pending_prunes(10).size() == 1);
  CHECK_FALSE(r.run_slice().more);  // still failing: still marked, left to the idle pass
  CHECK(f.store->retention().pending_prunes(10).size() == 1);
  disk_fails = false;
  f.drain(r);
  CHECK(f.runs("app") == Ids{kept});
  CHECK_FALSE(f.has_logs(old));
  CHECK(f.store->retention().pending_prunes(10).empty());
}

TEMPLATE_TEST_CASE("events beyond the configured count go, a bounded number per slice",
                   "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  for (int i = 0; i < 30; ++i) {
    EventRecord e;
    e.body = "{}";
    (void)f.store->events().append_event(e);
  }
  f.config.events = 10;
  RetentionOptions o;
  o.max_events = 8;
  Retention r = f.retention(o);
  Retention::Slice s = r.run_slice();
  CHECK(s.events == 8);
  CHECK(s.more);
  f.drain(r);
  auto left = f.store->events().events_after(0, 0, 100);
  REQUIRE(left.size() == 10);
  CHECK(left.front().id == 21);
}

TEMPLATE_TEST_CASE(
    "tick: a slice at the start, soon after runs are created or end, else once a minute",
    "[retention]", Sqlite, Postgresql) {
  Fixture f{TestType{}.url};
  f.config.keep_last = 1;
  f.config.runs_ms = 10000;
  f.add_run("app", "failed", 0);
  const int64_t second = f.add_run("app", "failed", 0);
  RetentionOptions o;
  o.budget_ms = 60000;  // the manual clock decides here, not a slow (ASan) machine
  Retention r = f.retention(o);
  r.tick();  // the start
  CHECK(f.runs("app") == Ids{second});
  const int64_t third = f.add_run("app", "running", 0);
  f.now += 500;
  r.tick();  // runs are looked for once a second
  CHECK(f.runs("app") == Ids{second, third});
  f.now += 600;
  r.tick();  // a new run: the second is beyond keep_last
  CHECK(f.runs("app") == Ids{third});
  RunRecord ended = f.store->runs().list_runs(1).at(0);
  ended.status = RunStatus::Failed;
  ended.finished_at = f.now;
  (void)f.store->runs().update_run(ended);
  f.now += 1000;
  r.tick();  // it ended: a slice, which keeps it (a second old)
  CHECK(f.runs("app") == Ids{third});
  f.now += 30000;  // older than runs: 10s, and nothing was created or ended since
  r.tick();
  CHECK(f.runs("app") == Ids{third});
  f.now += 31000;  // a minute after the last slice
  r.tick();
  CHECK(f.runs("app").empty());
}

TEST_CASE("the policy: the config, or a discarder in Jenkins' meaning", "[retention]") {
  RetentionConfig c;
  RetentionLimits from_config = retention_limits(c, std::nullopt);
  CHECK(from_config.keep_last == RetentionLimits::kUnlimited);
  CHECK(from_config.runs_ms == 90 * kDay);
  CHECK(from_config.logs_ms == 30 * kDay);
  CHECK(from_config.artifacts_ms == 14 * kDay);
  CHECK(from_config.artifacts_keep_last == RetentionLimits::kUnlimited);
  gantry::pipelines::BuildDiscarder d{10, 30, 5, 7};
  RetentionLimits from_discarder = retention_limits(c, d);
  CHECK(from_discarder.keep_last == 10);
  CHECK(from_discarder.runs_ms == 30 * kDay);
  CHECK(from_discarder.logs_ms == RetentionLimits::kUnlimited);
  CHECK(from_discarder.artifacts_keep_last == 5);
  CHECK(from_discarder.artifacts_ms == 7 * kDay);

  std::optional<gantry::pipelines::BuildDiscarder> back;
  CHECK(decode_discarder(encode_discarder(d), back));
  CHECK(back == d);
  CHECK(decode_discarder("none", back));
  CHECK_FALSE(back);
  for (const char* bad : {"", "invalid", "logRotator num=1",
                          "logRotator num=1 days=2 "
                          "artifact_num=3 artifact_days=4 x",
                          "logRotator num=-2 days=2 "
                          "artifact_num=3 artifact_days=4"}) {
    INFO(bad);
    CHECK_FALSE(decode_discarder(bad, back));
  }
}

TEST_CASE("config: retention's keys, defaults and errors", "[retention][config]") {
  auto parse = [](const std::string& text) {
    auto r = parse_config(text, "gantry.yml");
    if (auto* e = std::get_if<ConfigError>(&r)) return std::string(e->message);
    return std::string();
  };
  auto retention = [](const std::string& text) {
    auto r = parse_config(text, "gantry.yml");
    REQUIRE(std::holds_alternative<Config>(r));
    return std::get<Config>(r).retention;
  };
  RetentionConfig d = retention("");
  CHECK(d.runs_ms == 90 * kDay);
  CHECK(d.logs_ms == 30 * kDay);
  CHECK(d.artifacts_ms == 14 * kDay);
  CHECK(d.keep_last == RetentionConfig::kUnlimited);
  CHECK(d.events == 1000000);

  RetentionConfig spec =
      retention("retention: {runs: 90d, logs: 30d, artifacts: 14d, keep_last: 20, events: 5000}\n");
  CHECK(spec.runs_ms == 90 * kDay);
  CHECK(spec.logs_ms == 30 * kDay);
  CHECK(spec.artifacts_ms == 14 * kDay);
  CHECK(spec.keep_last == 20);
  CHECK(spec.events == 5000);
  RetentionConfig other =
      retention("retention:\n  runs: 36h\n  logs: unlimited\n  keep_last: unlimited\n");
  CHECK(other.runs_ms == 36 * 3600 * 1000);
  CHECK(other.logs_ms == RetentionConfig::kUnlimited);
  CHECK(other.keep_last == RetentionConfig::kUnlimited);
  CHECK(other.artifacts_ms == 14 * kDay);

  CHECK(parse("retention: {runs: 90 days}\n") ==
        "gantry.yml:1:19: error: invalid age '90 days' for 'runs' (use e.g. 90d, 12h or "
        "unlimited)\n"
        "retention: {runs: 90 days}\n"
        "                  ^");
  CHECK(parse("retention:\n  logs: 0d\n") ==
        "gantry.yml:2:9: error: 'logs' must be more than 0 (use unlimited to keep them forever)\n"
        "  logs: 0d\n"
        "        ^");
  CHECK(parse("retention: {keep_last: 0}\n") ==
        "gantry.yml:1:24: error: invalid count '0' for 'keep_last' (a whole number from 1, or "
        "unlimited)\n"
        "retention: {keep_last: 0}\n"
        "                       ^");
  CHECK(parse("retention: {events: -5}\n").find("invalid count '-5' for 'events'") !=
        std::string::npos);
  CHECK(parse("retention: {artifacts: 99999999999999999d}\n").find("invalid age") !=
        std::string::npos);
  CHECK(parse("retention: {keep: 3}\n") ==
        "gantry.yml:1:13: error: unknown key 'keep' (expected one of: runs, logs, artifacts, "
        "keep_last, events)\n"
        "retention: {keep: 3}\n"
        "            ^");
  CHECK(parse("retention: 30d\n") ==
        "gantry.yml:1:12: error: 'retention' must be a map, not a scalar\n"
        "retention: 30d\n"
        "           ^");
}
