// Locks and milestones (controller/scheduler/coordination.hpp): the rules alone.
#include <catch2/catch.hpp>

#include "scheduler/coordination.hpp"
#include "scheduler_harness.hpp"

using namespace gantry::controller;
using gantry::RunStatus;
using gantry::controller::testing::Harness;

namespace {

LockRequest named(const std::string& resource, bool inverse = false) {
  LockRequest r;
  r.resource = resource;
  r.inverse = inverse;
  return r;
}

LockRequest labelled(const std::string& label, int64_t quantity, bool skip = false) {
  LockRequest r;
  r.label = label;
  r.quantity = quantity;
  r.skip_if_locked = skip;
  return r;
}

// Three printers (in this order) and a plotter that is also a printer.
LockTable printers() {
  LockTable t;
  t.declare({{"printer-1", {"printer"}},
             {"printer-2", {"printer"}},
             {"printer-3", {"printer", "colour"}},
             {"plotter", {"wide"}}},
            0);
  return t;
}

}  // namespace

TEST_CASE("locks: one holder at a time and the waiters in order of arrival", "[locks]") {
  LockTable t;
  CHECK(t.acquire("j1#1", 1, named("db"), 100).acquired);
  LockTable::Answer second = t.acquire("j2#1", 2, named("db"), 110);
  CHECK_FALSE(second.acquired);
  CHECK(second.queued);
  CHECK(second.ahead == 0);
  CHECK(second.holder == "run 1");
  LockTable::Answer third = t.acquire("j3#1", 3, named("db"), 120);
  CHECK(third.ahead == 1);
  // Asking again neither queues twice nor jumps the queue.
  CHECK(t.acquire("j3#1", 3, named("db"), 130).ahead == 1);
  // Another resource is independent.
  CHECK(t.acquire("j3#2", 3, named("cache"), 130).acquired);
  t.release("j1#1", 200);
  LockTable::Answer got = t.acquire("j2#1", 2, named("db"), 210);
  CHECK(got.acquired);
  CHECK(got.resources == std::vector<std::string>{"db"});
  CHECK_FALSE(t.acquire("j3#1", 3, named("db"), 210).acquired);
  auto state = t.state();
  REQUIRE(state.size() == 2);
  CHECK(state[1].name == "db");
  CHECK(state[1].held_by_run == 2);
  CHECK(state[1].since == 200);
  CHECK_FALSE(state[1].declared);
  CHECK(state[1].waiting_runs == std::vector<int64_t>{3});
  // A job's end frees what it holds and what it waits for.
  t.release_job("j2", 300);
  CHECK(t.acquire("j3#1", 3, named("db"), 310).acquired);
  t.release_job("j3", 400);
  CHECK(t.state().empty());
}

TEST_CASE("locks: inversePrecedence lets the newest waiter in first", "[locks]") {
  LockTable t;
  CHECK(t.acquire("a#1", 1, named("deploy", true), 100).acquired);
  CHECK_FALSE(t.acquire("b#1", 2, named("deploy", true), 110).acquired);
  CHECK_FALSE(t.acquire("c#1", 3, named("deploy", true), 120).acquired);
  CHECK(t.acquire("c#1", 3, named("deploy", true), 120).ahead == 0);
  t.release("a#1", 130);
  CHECK(t.acquire("c#1", 3, named("deploy", true), 140).acquired);
  CHECK_FALSE(t.acquire("b#1", 2, named("deploy", true), 140).acquired);
}

TEST_CASE("locks: a label gives the quantity asked of its free resources in declared order",
          "[locks]") {
  LockTable t = printers();
  LockTable::Answer one = t.acquire("a#1", 1, labelled("printer", 1), 100);
  CHECK(one.acquired);
  CHECK(one.resources == std::vector<std::string>{"printer-1"});
  LockTable::Answer two = t.acquire("b#1", 2, labelled("printer", 2), 110);
  CHECK(two.acquired);
  CHECK(two.resources == std::vector<std::string>{"printer-2", "printer-3"});
  // By name, a labelled resource is the same resource.
  LockTable::Answer by_name = t.acquire("c#1", 3, named("printer-3"), 120);
  CHECK_FALSE(by_name.acquired);
  CHECK(by_name.holder == "run 2");
  // Quantity 0: all of them, once all are free.
  CHECK_FALSE(t.acquire("d#1", 4, labelled("colour", 0), 130).acquired);
  t.release("b#1", 200);
  CHECK(t.acquire("c#1", 3, named("printer-3"), 210).acquired);
  t.release("c#1", 220);
  LockTable::Answer all = t.acquire("d#1", 4, labelled("colour", 0), 230);
  CHECK(all.acquired);
  CHECK(all.resources == std::vector<std::string>{"printer-3"});
  // Declared resources stay listed when free; holders and waiters are listed too.
  t.release("d#1", 240);
  auto state = t.state();
  REQUIRE(state.size() == 4);
  CHECK(state[0].name == "plotter");
  CHECK(state[1].name == "printer-1");
  CHECK(state[1].labels == std::vector<std::string>{"printer"});
  CHECK(state[1].declared);
  CHECK(state[1].held_by_run == 1);
  auto holders = t.holders();
  REQUIRE(holders.size() == 1);
  CHECK(holders[0].wanted == "[Label: printer, Quantity: 1]");
  CHECK(holders[0].resources == std::vector<std::string>{"printer-1"});
  CHECK(t.waiters().empty());
}

TEST_CASE("locks: all or nothing so two runs wanting 2 of 3 take turns", "[locks]") {
  LockTable t = printers();
  CHECK(t.acquire("x#1", 9, named("printer-1"), 50).acquired);
  // Two free of three: the first request for 2 gets both, the second holds nothing.
  CHECK(t.acquire("a#1", 1, labelled("printer", 2), 100).acquired);
  LockTable::Answer b = t.acquire("b#1", 2, labelled("printer", 2), 110);
  CHECK_FALSE(b.acquired);
  CHECK(b.resources.empty());
  t.release("x#1", 120);
  // One is free now, b wants two: still nothing held, printer-1 stays free.
  CHECK_FALSE(t.acquire("b#1", 2, labelled("printer", 2), 130).acquired);
  CHECK(t.state()[1].held_by_run == 0);
  t.release("a#1", 140);
  LockTable::Answer got = t.acquire("b#1", 2, labelled("printer", 2), 150);
  CHECK(got.acquired);
  CHECK(got.resources == std::vector<std::string>{"printer-1", "printer-2"});
}

TEST_CASE("locks: a later small request does not overtake an earlier big one", "[locks]") {
  LockTable t = printers();
  CHECK(t.acquire("a#1", 1, labelled("printer", 2), 100).acquired);
  // b wants all three; printer-3 is free but b waits for the other two.
  LockTable::Answer b = t.acquire("b#1", 2, labelled("printer", 3), 110);
  CHECK_FALSE(b.acquired);
  CHECK(b.ahead == 0);
  // c wants one printer, which is free, but b is before it: c waits behind b.
  LockTable::Answer c = t.acquire("c#1", 3, labelled("printer", 1), 120);
  CHECK_FALSE(c.acquired);
  CHECK(c.ahead == 1);
  // A request for something b does not want goes on.
  CHECK(t.acquire("d#1", 4, named("plotter"), 130).acquired);
  auto queue = t.waiters();
  REQUIRE(queue.size() == 2);
  CHECK(queue[0].run_id == 2);
  CHECK(queue[1].run_id == 3);
  t.release("a#1", 200);
  CHECK(t.acquire("b#1", 2, labelled("printer", 3), 210).acquired);
  CHECK_FALSE(t.acquire("c#1", 3, labelled("printer", 1), 210).acquired);
  t.release_job("b", 300);
  CHECK(t.acquire("c#1", 3, labelled("printer", 1), 310).acquired);
}

TEST_CASE("locks: skipIfLocked never queues and bad requests are refused", "[locks]") {
  LockTable t = printers();
  CHECK(t.acquire("a#1", 1, labelled("printer", 3), 100).acquired);
  LockTable::Answer skip = t.acquire("b#1", 2, labelled("printer", 1, true), 110);
  CHECK_FALSE(skip.acquired);
  CHECK_FALSE(skip.queued);
  CHECK(t.waiters().empty());
  CHECK(t.acquire("b#2", 2, labelled("wide", 1, true), 110).acquired);
  CHECK(t.acquire("c#1", 3, labelled("scanner", 1), 120).error ==
        "no lockable resource has the label 'scanner' (resources with labels are declared "
        "under locks: in the controller config)");
  CHECK(t.acquire("c#2", 3, labelled("printer", 4), 120).error ==
        "the label 'printer' has 3 resource(s), 4 asked");
  LockRequest both = named("printer-1");
  both.label = "printer";
  CHECK(t.acquire("c#3", 3, both, 120).error == "either a resource or a label, not both");
  CHECK(t.waiters().empty());
}

TEST_CASE("locks: a reload changes the declared set and hands new resources to waiters",
          "[locks]") {
  LockTable t = printers();
  CHECK(t.acquire("a#1", 1, labelled("printer", 3), 100).acquired);
  CHECK_FALSE(t.acquire("b#1", 2, labelled("printer", 1), 110).acquired);
  t.declare({{"printer-1", {"printer"}}, {"printer-4", {"printer"}}}, 120);
  // printer-4 is new and free: b gets it at once; printer-2 and 3 stay held until released.
  CHECK(t.acquire("b#1", 2, labelled("printer", 1), 130).resources ==
        std::vector<std::string>{"printer-4"});
  t.release("a#1", 140);
  std::vector<std::string> names;
  for (const auto& s : t.state()) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"printer-1", "printer-4"});
}

TEST_CASE("locks: the pipeline option is held by the run from its first stage to its end",
          "[locks]") {
  Harness h;
  h.s.declare_locks({{"printer-1", {"printer"}}}, h.now);
  h.agent("a1", {}, 3);
  const std::string source = R"(pipeline {
  agent any
  options { lock(label: 'printer', quantity: 1, variable: 'P') }
  stages {
    stage('A') { steps { sh 'print' } }
    stage('B') { steps { sh 'print' } }
  }
})";
  const int64_t first = h.submit(source);
  const int64_t second = h.submit(source);
  const int64_t third = h.submit(source);
  auto a = h.assigns();
  REQUIRE(a.size() == 1);
  CHECK(a[0].second.spec.env["P"] == "printer-1");
  CHECK(a[0].second.spec.env["P0"] == "printer-1");
  CHECK(h.status(second) == RunStatus::Queued);
  CHECK(h.s.run(second)->run.reason ==
        "waiting for lock [Label: printer, Quantity: 1], held by run 1");
  CHECK(h.s.run(third)->run.reason ==
        "waiting for lock [Label: printer, Quantity: 1], held by run 1; 1 ahead");
  // Between its stages the run keeps it: its next stage goes, not the other run's.
  h.finish("a1", a[0].second, "SUCCESS");
  a = h.assigns();
  REQUIRE(a.size() == 1);
  CHECK(a[0].second.spec.stage_id == "B");
  // A waiting run cancelled leaves the queue.
  REQUIRE(h.s.cancel_run(third, "no", h.now));
  h.pump();
  CHECK(h.s.run(third)->finished());
  CHECK(h.s.locks().waiters().size() == 1);
  h.finish("a1", a[0].second, "SUCCESS");
  CHECK(h.s.run(first)->finished());
  a = h.assigns();
  REQUIRE(a.size() == 1);
  CHECK(h.status(second) == RunStatus::Running);
  CHECK(h.s.run(second)->run.reason.empty());
  CHECK(h.s.locks().holders()[0].holder == "run:2");
  // A label nobody declared: the run cannot start.
  RunRecord r;
  r.id = 9;
  r.number = 9;
  r.job_name = "app";
  r.pipeline_source = R"(pipeline {
  agent any
  options { lock(label: 'scanner') }
  stages { stage('A') { steps { sh 'scan' } } }
})";
  r.pipeline_format = "jenkinsfile";
  CHECK(h.s.submit(r, {}, h.now).value_or("") ==
        "options { lock }: no lockable resource has the label 'scanner' (resources with labels "
        "are declared under locks: in the controller config)");
}

TEST_CASE("milestones: a newer run passing one cancels older runs and refuses them later",
          "[milestones]") {
  MilestoneTable m;
  const std::vector<std::pair<int64_t, int64_t>> going = {{10, 1}, {11, 2}, {12, 3}};
  // Run #1 passes milestone 1: nothing older to cancel.
  MilestoneTable::Verdict v = m.pass("app/main", 10, 1, 1, going);
  CHECK(v.pass);
  CHECK(v.cancel.empty());
  // Run #3 passes milestone 1 too: #1 passed it already, #2 has not: #2 is cancelled.
  v = m.pass("app/main", 12, 3, 1, going);
  CHECK(v.pass);
  CHECK(v.cancel == std::vector<int64_t>{11});
  // #3 passes milestone 2 (no ordinal: the next one): #1 and #2 have not.
  v = m.pass("app/main", 12, 3, std::nullopt, going);
  CHECK(v.pass);
  CHECK(v.ordinal == 2);
  CHECK(v.cancel == std::vector<int64_t>{10, 11});
  // #1 reaches milestone 2 after #3 passed it: superseded.
  v = m.pass("app/main", 10, 1, 2, going);
  CHECK_FALSE(v.pass);
  CHECK(v.reason == "superseded: run #3 already passed milestone 2");
  // Another job is unaffected.
  CHECK(m.pass("app/dev", 20, 1, 2, {{20, 1}}).pass);
}
