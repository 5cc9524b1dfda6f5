// Locks and milestones (controller/scheduler/coordination.hpp): the rules alone.
#include <catch2/catch.hpp>

#include "scheduler/coordination.hpp"

using namespace gantry::controller;

TEST_CASE("locks: one holder at a time and the waiters in order of arrival", "[locks]") {
  LockTable t;
  CHECK(t.acquire("j1#1", 1, "db", false, 100).acquired);
  LockTable::Answer second = t.acquire("j2#1", 2, "db", false, 110);
  CHECK_FALSE(second.acquired);
  CHECK(second.ahead == 0);
  CHECK(second.holder == "run 1");
  LockTable::Answer third = t.acquire("j3#1", 3, "db", false, 120);
  CHECK(third.ahead == 1);
  // Asking again neither queues twice nor jumps the queue.
  CHECK(t.acquire("j3#1", 3, "db", false, 130).ahead == 1);
  // Another resource is independent.
  CHECK(t.acquire("j3#2", 3, "cache", false, 130).acquired);
  t.release("j1#1", 200);
  CHECK(t.acquire("j2#1", 2, "db", false, 210).acquired);
  CHECK_FALSE(t.acquire("j3#1", 3, "db", false, 210).acquired);
  auto state = t.state();
  REQUIRE(state.size() == 2);
  CHECK(state[1].name == "db");
  CHECK(state[1].held_by_run == 2);
  CHECK(state[1].since == 200);
  CHECK(state[1].waiting_runs == std::vector<int64_t>{3});
  // A job's end frees what it holds and what it waits for.
  t.release_job("j2", 300);
  CHECK(t.acquire("j3#1", 3, "db", false, 310).acquired);
  t.release_job("j3", 400);
  CHECK(t.state().empty());
}

TEST_CASE("locks: inversePrecedence lets the newest waiter in first", "[locks]") {
  LockTable t;
  CHECK(t.acquire("a#1", 1, "deploy", true, 100).acquired);
  CHECK_FALSE(t.acquire("b#1", 2, "deploy", true, 110).acquired);
  CHECK_FALSE(t.acquire("c#1", 3, "deploy", true, 120).acquired);
  CHECK(t.acquire("c#1", 3, "deploy", true, 120).ahead == 0);
  t.release("a#1", 130);
  CHECK(t.acquire("c#1", 3, "deploy", true, 140).acquired);
  CHECK_FALSE(t.acquire("b#1", 2, "deploy", true, 140).acquired);
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
