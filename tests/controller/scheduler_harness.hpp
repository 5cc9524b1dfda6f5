#pragma once
// The scheduler without a network: agents are simulated by calling its
// methods and reading the messages it queues.
#include <catch2/catch.hpp>

#include "scheduler/scheduler.hpp"

namespace gantry::controller::testing {

namespace protocol = gantry::protocol;

struct Harness {
  Scheduler s;
  int64_t now = 1000;
  int64_t next_run = 1;
  std::vector<Outgoing> sent;

  explicit Harness(SchedulerOptions o = {}) : s(std::move(o)) {}

  int64_t submit(const std::string& source, const std::string& ref = "main",
                 const std::string& job = "app") {
    RunRecord r;
    r.id = next_run++;
    r.number = r.id;
    r.job_name = job;
    r.repo_name = job;  // a configured repository's run (secrets may reach it)
    r.ref = ref;
    r.pipeline_source = source;
    r.pipeline_format = "jenkinsfile";
    auto err = s.submit(r, {}, now);
    INFO(err.value_or(""));
    REQUIRE_FALSE(err);
    pump();
    return r.id;
  }
  void agent(const std::string& id, std::vector<std::string> labels = {}, int executors = 1) {
    protocol::Hello h;
    h.agent_id = id;
    h.instance_id = id + "-1";
    h.name = id;
    h.labels = std::move(labels);
    h.executors = executors;
    s.hello(h, "pool", now);
    pump();
  }
  void pump() {
    s.tick(now);
    for (auto& o : s.board().take_outgoing()) sent.push_back(std::move(o));
    s.take_dirty_runs();
  }
  // Assignments sent since the last call, in order.
  std::vector<std::pair<std::string, protocol::Assign>> assigns() {
    std::vector<std::pair<std::string, protocol::Assign>> out;
    for (auto& o : sent) {
      if (auto* a = std::get_if<protocol::Assign>(&o.message)) out.emplace_back(o.agent_id, *a);
    }
    sent.clear();
    return out;
  }
  void finish(const std::string& agent, const protocol::Assign& a, const std::string& result,
              const std::string& reason = {}, bool inconclusive = false) {
    protocol::Finish f;
    f.job_id = a.job_id;
    f.epoch = a.epoch;
    f.result = result;
    f.reason = reason;
    f.inconclusive = inconclusive;
    auto r = s.finish(agent, f, 0, now);
    REQUIRE(std::holds_alternative<protocol::FinishAck>(r));
    pump();
  }
  RunStatus status(int64_t run) { return s.run(run)->run.status; }
  // The service's side of a deploy's last gate: records release R-<n>.
  void open_release(int64_t run, const std::string& stage, const std::string& id = "R-1") {
    auto gates = s.gates().take_requests();
    REQUIRE(gates.size() == 1);
    CHECK(gates[0].kind == GateKind::Release);
    CHECK(gates[0].stage_id == stage);
    REQUIRE(s.open_gate(run, stage, GateKind::Release,
                        {{"RELEASE_ID", id}, {"PREVIOUS_RELEASE", ""}}, now));
    pump();
  }
  std::string stage(int64_t run, const std::string& id) {
    for (const auto& rec : s.run(run)->stages) {
      if (rec.stage_id == id) return std::string(to_string(rec.status));
    }
    return "missing";
  }
};

}  // namespace gantry::controller::testing
