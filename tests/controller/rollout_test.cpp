// A deploy's phases in the scheduler, without a network (docs/releases.md):
// canary weights, pauses, analysis against failureLimit, promote, abort, the
// rollback, and a restart in the middle of each.
#include <catch2/catch.hpp>

#include "scheduler_harness.hpp"

using namespace gantry::controller;
using gantry::GateKind;
using gantry::ReleaseStatus;
using gantry::RunStatus;
namespace protocol = gantry::protocol;
using testing::Harness;

namespace {

std::string canary_pipeline(const std::string& canary_body, const std::string& post = "") {
  return R"(pipeline {
  agent any
  stages {
    stage('Prod') {
      deploy('staging') {
        canary {
)" + canary_body +
         R"(
        }
        rollback { sh './rollback.sh' }
      }
      steps { sh './deploy.sh --weight "$CANARY_WEIGHT"' }
)" + post +
         R"(
    }
  }
})";
}

SchedulerOptions options() {
  SchedulerOptions o;
  o.environments = {{"staging", false}};
  return o;
}

const StageRecord& prod(Harness& h, int64_t run) {
  for (const auto& rec : h.s.run(run)->stages) {
    if (rec.stage_id == "Prod") return rec;
  }
  FAIL("no Prod stage");
  throw std::logic_error("unreachable");
}

// The one job handed out now, with its mode and weight checked.
protocol::Assign next_job(Harness& h, const std::string& mode, const std::string& weight) {
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  const protocol::JobSpec& spec = as[0].second.spec;
  CHECK(spec.stage_id == "Prod");
  CHECK(spec.mode == mode);
  auto w = spec.env.find("CANARY_WEIGHT");
  CHECK((w == spec.env.end() ? std::string("-") : w->second) == weight);
  CHECK(spec.env.at("RELEASE_ID") == "R-1");
  return as[0].second;
}

// Time passes; the agent keeps its heartbeats (a silent agent gets no work).
void later(Harness& h, int64_t ms) {
  h.now += ms;
  h.s.board().heartbeat("a1", protocol::Heartbeat{}, h.now);
  h.pump();
}

// Submits the pipeline and passes its release gate with an agent connected.
int64_t start(Harness& h, const std::string& source) {
  h.agent("a1");
  int64_t run = h.submit(source);
  h.open_release(run, "Prod");
  return run;
}

}  // namespace

TEST_CASE("a canary runs its steps and analysis at each weight in order and succeeds") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 10, 50, 100\nanalysis { sh './check.sh' }"));
  for (const char* w : {"10", "50", "100"}) {
    h.finish("a1", next_job(h, "canary", w), "SUCCESS");
    h.finish("a1", next_job(h, "analysis", w), "SUCCESS");
  }
  CHECK(h.assigns().empty());
  CHECK(h.stage(run, "Prod") == "succeeded");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::Succeeded);
  CHECK(prod(h, run).attempts == 6);  // one log per phase
  CHECK(h.status(run) == RunStatus::Succeeded);
}

TEST_CASE("an analysis that fails at the second weight rolls back and fails the stage") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 10, 50, 100\nanalysis { sh './check.sh' }",
                                         "post { always { echo 'post' } }"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  h.finish("a1", next_job(h, "analysis", "10"), "SUCCESS");
  h.finish("a1", next_job(h, "canary", "50"), "SUCCESS");
  h.finish("a1", next_job(h, "analysis", "50"), "FAILURE", "p99 latency up 40%");
  protocol::Assign rollback = next_job(h, "rollback", "50");
  CHECK(prod(h, run).rollout.abort == "analysis failed at 50%: p99 latency up 40%");
  h.finish("a1", rollback, "SUCCESS");
  // The post runs last, judged on the failed canary.
  protocol::Assign post = next_job(h, "post", "50");
  CHECK(post.spec.current_result == "FAILURE");
  h.finish("a1", post, "SUCCESS");
  CHECK(h.stage(run, "Prod") == "failed");
  CHECK(prod(h, run).reason == "analysis failed at 50%: p99 latency up 40%; rolled back");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::RolledBack);
  CHECK(h.status(run) == RunStatus::Failed);
}

TEST_CASE("failureLimit tolerates that many failed analyses") {
  Harness h(options());
  int64_t run = start(
      h, canary_pipeline("weights 10, 50, 100\nanalysis { sh './check.sh' }\nfailureLimit 1"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  h.finish("a1", next_job(h, "analysis", "10"), "FAILURE", "exit code 1");
  CHECK(prod(h, run).rollout.reason ==
        "analysis failed at 10%: exit code 1 (1 of failureLimit 1 tolerated)");
  CHECK(prod(h, run).reason ==
        "canary at 50%: steps; analysis failed at 10%: exit code 1 (1 of failureLimit 1 "
        "tolerated)");
  h.finish("a1", next_job(h, "canary", "50"), "SUCCESS");
  h.finish("a1", next_job(h, "analysis", "50"), "FAILURE", "exit code 1");
  h.finish("a1", next_job(h, "rollback", "50"), "SUCCESS");
  CHECK(h.stage(run, "Prod") == "failed");
  CHECK(prod(h, run).rollout.failures == 2);
}

TEST_CASE("failing deploy steps roll back, a failing rollback leaves the release failed") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 10, 100"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  h.finish("a1", next_job(h, "canary", "100"), "FAILURE", "exit code 3");
  h.finish("a1", next_job(h, "rollback", "100"), "FAILURE", "exit code 9");
  CHECK(h.stage(run, "Prod") == "failed");
  CHECK(prod(h, run).reason ==
        "the deploy steps failed at 100%: exit code 3; the rollback failed: exit code 9");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::Failed);
}

TEST_CASE("a timed pause holds no agent until its time, also across a restart") {
  Harness h(options());
  int64_t run =
      start(h, canary_pipeline("weights 10, 50\npause '30s'\nanalysis { sh './check.sh' }"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  CHECK(h.assigns().empty());
  CHECK(h.stage(run, "Prod") == "waiting");
  CHECK(prod(h, run).reason.rfind("canary at 10%: pause until ", 0) == 0);
  CHECK(h.s.board().running_jobs() == 0);
  later(h, 29000);
  CHECK(h.assigns().empty());

  // The controller restarts during the pause: the pause goes on where it was.
  Harness restarted(options());
  restarted.now = h.now;
  REQUIRE_FALSE(restarted.s.submit(h.s.run(run)->run, h.s.run(run)->stages, restarted.now));
  restarted.agent("a1");
  restarted.pump();
  CHECK(restarted.assigns().empty());
  CHECK(restarted.stage(run, "Prod") == "waiting");
  later(restarted, 1500);
  restarted.finish("a1", next_job(restarted, "analysis", "10"), "SUCCESS");
  restarted.finish("a1", next_job(restarted, "canary", "50"), "SUCCESS");
  CHECK(restarted.assigns().empty());  // paused again, at 50%
  later(restarted, 31000);
  restarted.finish("a1", next_job(restarted, "analysis", "50"), "SUCCESS");
  CHECK(restarted.stage(run, "Prod") == "succeeded");
}

TEST_CASE("pause() waits for promote, promote is refused while a phase runs") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 25, 100\npause()"));
  protocol::Assign first = next_job(h, "canary", "25");
  CHECK(h.s.promote(run, "Prod", h.now) == "it is not paused (canary at 25%: steps)");
  h.finish("a1", first, "SUCCESS");
  CHECK(h.stage(run, "Prod") == "waiting");
  CHECK(prod(h, run).reason == "canary at 25%: paused, waiting for gantry promote R-1");
  later(h, 3600 * 1000);  // waits as long as it takes
  CHECK(h.assigns().empty());
  CHECK(h.s.promote(run, "Prod", h.now).empty());
  h.pump();
  h.finish("a1", next_job(h, "canary", "100"), "SUCCESS");
  CHECK(h.s.promote(run, "Prod", h.now).empty());  // paused at 100% too
  h.pump();
  CHECK(h.stage(run, "Prod") == "succeeded");
  CHECK(h.s.promote(run, "Prod", h.now) == "it is not paused (canary at 100%: done)");
}

TEST_CASE("abort during a pause rolls back at once") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 25, 100\npause()"));
  h.finish("a1", next_job(h, "canary", "25"), "SUCCESS");
  CHECK(h.s.abort_deploy(run, "Prod", "aborted by rosa: error budget", h.now).empty());
  h.pump();
  protocol::Assign rollback = next_job(h, "rollback", "25");
  CHECK(h.s.abort_deploy(run, "Prod", "again", h.now) == "it is being rolled back already");
  CHECK(h.s.promote(run, "Prod", h.now) == "it is not paused (canary at 25%: rollback)");
  h.finish("a1", rollback, "SUCCESS");
  CHECK(h.stage(run, "Prod") == "failed");
  CHECK(prod(h, run).reason == "aborted by rosa: error budget; rolled back");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::RolledBack);
}

TEST_CASE("abort while a phase runs stops it first, then rolls back") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 25, 100\nanalysis { sh './check.sh' }"));
  h.finish("a1", next_job(h, "canary", "25"), "SUCCESS");
  protocol::Assign analysis = next_job(h, "analysis", "25");
  CHECK(h.s.abort_deploy(run, "Prod", "aborted by rosa", h.now).empty());
  h.pump();
  bool cancelled = false;
  for (const auto& o : h.sent) {
    if (auto* c = std::get_if<protocol::Cancel>(&o.message))
      cancelled = c->job_id == analysis.job_id && c->epoch == analysis.epoch;
  }
  CHECK(cancelled);
  h.sent.clear();
  h.finish("a1", analysis, "ABORTED", "aborted by rosa");
  h.finish("a1", next_job(h, "rollback", "25"), "SUCCESS");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::RolledBack);
}

TEST_CASE("an abort of a direct deploy stops it and runs its rollback steps") {
  Harness h(options());
  int64_t run = start(h, R"(pipeline {
  agent any
  stages {
    stage('Prod') {
      deploy('staging') { rollback { sh './rollback.sh' } }
      steps { sh './deploy.sh' }
    }
  }
})");
  protocol::Assign deploy = next_job(h, "", "-");
  CHECK(h.s.promote(run, "Prod", h.now) == "it is not paused (it is not a canary)");
  CHECK(h.s.abort_deploy(run, "Prod", "aborted by rosa", h.now).empty());
  h.pump();
  h.sent.clear();
  h.finish("a1", deploy, "ABORTED", "aborted by rosa");
  h.finish("a1", next_job(h, "rollback", "-"), "SUCCESS");
  CHECK(h.stage(run, "Prod") == "failed");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::RolledBack);
}

TEST_CASE("an inconclusive analysis counts as failed, or waits with inconclusive 'pause'") {
  SECTION("default: it counts against failureLimit") {
    Harness h(options());
    int64_t run =
        start(h, canary_pipeline("weights 10, 100\nanalysis { compareMetrics(baseline: 'b', "
                                 "canary: 'c') }"));
    h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
    h.finish("a1", next_job(h, "analysis", "10"), "FAILURE", "latency: inconclusive", true);
    next_job(h, "rollback", "10");
    CHECK(prod(h, run).rollout.abort == "analysis failed at 10%: latency: inconclusive");
  }
  SECTION("inconclusive 'pause' waits for promote, then goes on") {
    Harness h(options());
    int64_t run = start(h, canary_pipeline("weights 10, 100\nanalysis { sh './check.sh' }\n"
                                           "inconclusive 'pause'"));
    h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
    h.finish("a1", next_job(h, "analysis", "10"), "FAILURE", "latency: inconclusive", true);
    CHECK(h.assigns().empty());
    CHECK(h.stage(run, "Prod") == "waiting");
    CHECK(prod(h, run).reason ==
          "analysis inconclusive at 10%: latency: inconclusive; waiting for gantry promote R-1 "
          "(or gantry abort)");
    // A failure on the evidence still counts.
    CHECK(h.s.promote(run, "Prod", h.now).empty());
    h.pump();
    h.finish("a1", next_job(h, "canary", "100"), "SUCCESS");
    h.finish("a1", next_job(h, "analysis", "100"), "FAILURE", "worse");
    next_job(h, "rollback", "100");
  }
}

TEST_CASE("a freeze holds the next weight, never the rollback") {
  SchedulerOptions o;
  o.environments = {{"production", true}};
  bool frozen = false;
  o.deploy_blocked = [&](const std::string&, int64_t) {
    return frozen ? std::vector<std::string>{"freeze until 2027-01-05"}
                  : std::vector<std::string>{};
  };
  Harness h(std::move(o));
  h.agent("a1");
  std::string source = canary_pipeline("weights 10, 50\nanalysis { sh './check.sh' }");
  source.replace(source.find("'staging'"), 9, "'production'");
  int64_t run = h.submit(source);
  auto gates = h.s.gates().take_requests();
  REQUIRE(gates.size() == 1);
  REQUIRE(h.s.open_gate(run, "Prod", GateKind::Gmud, {}, h.now));
  h.pump();
  h.open_release(run, "Prod");
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  frozen = true;                                             // the freeze starts mid-canary
  h.finish("a1", next_job(h, "analysis", "10"), "SUCCESS");  // analysis is not held
  CHECK(h.assigns().empty());
  CHECK(h.stage(run, "Prod") == "queued");
  CHECK(prod(h, run).reason == "held: freeze until 2027-01-05");
  CHECK(prod(h, run).rollout.weight == 1);
  CHECK(h.s.abort_deploy(run, "Prod", "aborted by rosa", h.now).empty());
  h.pump();
  next_job(h, "rollback", "50");  // the rollback goes out in the freeze
}

TEST_CASE("cancelling a run mid-canary rolls back what was deployed, and the rollback finishes") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 10, 50\npause()"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  REQUIRE(h.s.cancel_run(run, "cancelled by ravi", h.now));
  h.pump();
  protocol::Assign rollback = next_job(h, "rollback", "10");
  REQUIRE(h.s.cancel_run(run, "cancelled again", h.now));  // does not stop the rollback
  h.pump();
  for (const auto& o : h.sent) CHECK_FALSE(std::holds_alternative<protocol::Cancel>(o.message));
  h.finish("a1", rollback, "SUCCESS");
  CHECK(prod(h, run).reason == "cancelled by ravi at 10%; rolled back");
  CHECK(prod(h, run).rollout.outcome == ReleaseStatus::RolledBack);
  CHECK(h.s.run(run)->finished());
}

TEST_CASE("a restart during the rollback adopts it, and it is not run again") {
  Harness h(options());
  int64_t run = start(h, canary_pipeline("weights 10, 50\nanalysis { sh './check.sh' }"));
  h.finish("a1", next_job(h, "canary", "10"), "SUCCESS");
  h.finish("a1", next_job(h, "analysis", "10"), "FAILURE", "bad");
  protocol::Assign rollback = next_job(h, "rollback", "10");

  Harness restarted(options());
  REQUIRE_FALSE(restarted.s.submit(h.s.run(run)->run, h.s.run(run)->stages, restarted.now));
  restarted.pump();
  protocol::Hello hello;
  hello.agent_id = "a1";
  hello.instance_id = "a1-1";
  hello.name = "a1";
  hello.resume.push_back({rollback.job_id, rollback.epoch, 0, false});
  auto w = restarted.s.hello(hello, "pool", restarted.now);
  REQUIRE(w.resume.size() == 1);
  CHECK(w.resume[0].verdict == "continue");
  restarted.pump();
  CHECK(restarted.assigns().empty());  // adopted, not handed out again
  restarted.finish("a1", rollback, "SUCCESS");
  CHECK(restarted.stage(run, "Prod") == "failed");
  CHECK(prod(restarted, run).rollout.outcome == ReleaseStatus::RolledBack);
}
