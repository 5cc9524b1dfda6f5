// The engine's write-ahead rule, with a real store that is locked on
// command: nothing leaves for an agent until it is stored; a store failure
// keeps everything and the next flush, once the store answers, sends it
// exactly once.
#include "service/engine.hpp"

#include "service_fixture.hpp"

using namespace gantry::controller;
using gantry::RunStatus;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::Status;

namespace {

struct World {
  TempDir dir;
  Store store{dir.data()};
  ManualClock clock;
  RecordingSink events;
  RecordingOutbox outbox;
  Engine engine{store, clock, events, SchedulerOptions{}};
  World() { engine.set_outbox(&outbox); }

  int64_t start(const std::string& source = kTwoStages) {
    RunRecord run;
    run.job_name = "app";
    run.pipeline_source = source;
    run.pipeline_format = "jenkinsfile";
    REQUIRE(engine.start_run(run));
    return run.id;
  }
  void agent(const std::string& id) {
    engine.scheduler().hello(hello_of(id), "pool", clock.now_ms());
    REQUIRE(engine.flush());
  }
};

}  // namespace

TEST_CASE("an assignment leaves only after its run is stored", "[engine]") {
  World w;
  w.agent("a1");
  int64_t run = w.start();
  auto assigns = w.outbox.take<protocol::Assign>();
  REQUIRE(assigns.size() == 1);
  auto stored = w.store.runs().run(run);
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  CHECK((*stored)->status == RunStatus::Running);
  CHECK(w.engine.healthy());
}

TEST_CASE("dispatch under a lock: nothing sent, unhealthy, then sent exactly once", "[engine]") {
  World w;
  int64_t run = w.start();
  DbLock lock(w.dir.data());
  w.engine.scheduler().hello(hello_of("a1"), "pool", w.clock.now_ms());
  Status s = w.engine.flush();
  REQUIRE_FALSE(s);
  CHECK(s.error().code == gantry::Errc::Unavailable);
  CHECK_THAT(s.error().message, Catch::Contains("busy"));
  CHECK(w.outbox.take<protocol::Assign>().empty());
  CHECK_FALSE(w.engine.healthy());
  CHECK_FALSE(w.engine.durable(run));
  // Still locked: the tick retries and still sends nothing.
  w.clock.advance(100);
  w.engine.tick();
  CHECK(w.outbox.take<protocol::Assign>().empty());
  lock.release();
  w.clock.advance(100);
  w.engine.tick();
  CHECK(w.engine.healthy());
  CHECK(w.outbox.take<protocol::Assign>().size() == 1);
  auto stored = w.store.runs().run(run);
  REQUIRE((stored && *stored));
  CHECK((*stored)->status == RunStatus::Running);
  // And never again.
  w.engine.tick();
  CHECK(w.outbox.take<protocol::Assign>().empty());
}

TEST_CASE("start_run answers the store's failure and stores nothing", "[engine]") {
  World w;
  DbLock lock(w.dir.data());
  RunRecord run;
  run.job_name = "app";
  run.pipeline_source = kTwoStages;
  run.pipeline_format = "jenkinsfile";
  Status s = w.engine.start_run(run);
  REQUIRE_FALSE(s);
  CHECK(s.error().code == gantry::Errc::Unavailable);
  CHECK(run.id == 0);
  lock.release();
  CHECK(w.store.runs().list_runs(10).empty());
}

TEST_CASE("a run's events go out after it is stored, stages before the run", "[engine]") {
  World w;
  w.agent("a1");
  int64_t run = w.start();
  auto assign = w.outbox.take<protocol::Assign>().at(0);
  w.events.seen.clear();
  protocol::Finish f;
  f.job_id = assign.job_id;
  f.epoch = assign.epoch;
  f.result = "SUCCESS";
  {
    DbLock lock(w.dir.data());
    auto verdict = w.engine.scheduler().finish("a1", f, 0, w.clock.now_ms());
    REQUIRE(std::holds_alternative<protocol::FinishAck>(verdict));
    CHECK_FALSE(w.engine.flush());
    CHECK(w.events.seen.empty());  // nothing told before it is stored
  }
  REQUIRE(w.engine.flush());
  REQUIRE(w.events.seen.size() >= 2);
  CHECK(w.events.seen[0] == "stage " + std::to_string(run) + " build succeeded");
}
