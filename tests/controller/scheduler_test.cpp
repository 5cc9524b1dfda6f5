// The scheduler without a network: agents are simulated by calling its
// methods and reading the messages it queues.
#include <catch2/catch.hpp>

#include "scheduler_harness.hpp"

using namespace gantry::controller;
using gantry::GateKind;
using gantry::RunStatus;
namespace protocol = gantry::protocol;

using testing::Harness;

namespace {

const char* kThree = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'make' } }
    stage('Test') { steps { sh 'make test' } }
    stage('Deploy') { steps { sh 'make deploy' } }
  }
  post { failure { echo 'failed' } }
})";

}  // namespace

TEST_CASE("sequential stages run in order on the agent and the run succeeds") {
  Harness h;
  int64_t run = h.submit(kThree);
  CHECK(h.s.board().queue_depth() == 1);
  h.agent("a1");
  for (const char* name : {"Build", "Test", "Deploy"}) {
    auto as = h.assigns();
    REQUIRE(as.size() == 1);
    CHECK(as[0].second.spec.stage_id == name);
    CHECK(as[0].second.spec.env.at("BRANCH_NAME") == "main");
    CHECK(h.stage(run, name) == "running");
    h.finish(as[0].first, as[0].second, "SUCCESS");
  }
  CHECK(h.assigns().empty());  // post { failure } does not apply
  CHECK(h.status(run) == RunStatus::Succeeded);
  CHECK(h.stage(run, "Declarative: Post Actions") == "skipped");
}

TEST_CASE("a failing stage skips the rest and runs post failure") {
  Harness h;
  int64_t run = h.submit(kThree);
  h.agent("a1");
  auto as = h.assigns();
  h.finish("a1", as[0].second, "SUCCESS");
  as = h.assigns();
  h.finish("a1", as[0].second, "FAILURE");
  CHECK(h.stage(run, "Test") == "failed");
  CHECK(h.stage(run, "Deploy") == "skipped");
  as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.stage_id.empty());
  CHECK(as[0].second.spec.current_result == "FAILURE");
  CHECK(h.status(run) == RunStatus::Running);
  h.finish("a1", as[0].second, "FAILURE");
  CHECK(h.status(run) == RunStatus::Failed);
}

TEST_CASE("parallel branches run at once on two agents, labels route stages") {
  Harness h;
  int64_t run = h.submit(R"(pipeline {
  agent none
  stages {
    stage('Tests') {
      parallel {
        stage('Linux') { agent { label 'linux && !arm' }
        steps { sh 'true' } }
        stage('Arm') { agent { label 'arm' }
        steps { sh 'true' } }
      }
    }
  }
})");
  h.agent("x86", {"linux"});
  h.agent("pi", {"linux", "arm"});
  auto as = h.assigns();
  REQUIRE(as.size() == 2);
  std::map<std::string, std::string> where;
  for (auto& [agent, a] : as) where[a.spec.stage_id] = agent;
  CHECK(where["Tests / Linux"] == "x86");
  CHECK(where["Tests / Arm"] == "pi");
  for (auto& [agent, a] : as) h.finish(agent, a, "SUCCESS");
  CHECK(h.status(run) == RunStatus::Succeeded);
  CHECK(h.stage(run, "Tests") == "succeeded");
}

TEST_CASE("failFast aborts the running sibling") {
  Harness h;
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages {
    stage('P') {
      failFast true
      parallel {
        stage('A') { steps { sh 'false' } }
        stage('B') { steps { sh 'sleep 100' } }
      }
    }
  }
})");
  h.agent("a1");
  h.agent("a2");
  auto as = h.assigns();
  REQUIRE(as.size() == 2);
  auto& a = as[0].second.spec.stage_id == "P / A" ? as[0] : as[1];
  auto& b = as[0].second.spec.stage_id == "P / A" ? as[1] : as[0];
  h.finish(a.first, a.second, "FAILURE");
  bool cancelled = false;
  for (auto& o : h.sent) {
    if (auto* c = std::get_if<protocol::Cancel>(&o.message))
      cancelled = c->job_id == b.second.job_id && o.agent_id == b.first;
  }
  CHECK(cancelled);
  h.finish(b.first, b.second, "ABORTED");
  CHECK(h.stage(run, "P / B") == "aborted");
  CHECK(h.status(run) == RunStatus::Failed);
}

TEST_CASE("matrix cells become jobs with their axes in the environment") {
  Harness h;
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages {
    stage('M') {
      matrix {
        axes {
          axis { name 'OS'; values 'linux', 'mac' }
          axis { name 'V'; values '1', '2' }
        }
        excludes { exclude { axis { name 'OS'; values 'mac' }; axis { name 'V'; values '1' } } }
        stages { stage('Run') { steps { sh 'echo $OS' } } }
      }
    }
  }
})");
  h.agent("a1", {}, 8);
  auto as = h.assigns();
  REQUIRE(as.size() == 3);
  std::set<std::string> ids;
  for (auto& [agent, a] : as) {
    ids.insert(a.spec.stage_id);
    CHECK(a.spec.env.count("OS"));
    CHECK(a.spec.env.count("V"));
  }
  CHECK(ids.count("M / OS=linux, V=1 / Run"));
  CHECK(ids.count("M / OS=mac, V=2 / Run"));
  for (auto& [agent, a] : as) h.finish(agent, a, "SUCCESS");
  CHECK(h.status(run) == RunStatus::Succeeded);
}

TEST_CASE("a lease that lapses loses the job, retry moves it to another agent") {
  SchedulerOptions o;
  o.lease_ttl_ms = 3000;
  Harness h(o);
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages { stage('S') { options { retry(2) }
        steps { sh 'true' } } }
})");
  h.agent("a1");
  auto first = h.assigns();
  REQUIRE(first.size() == 1);
  protocol::Accept acc{first[0].second.job_id, first[0].second.epoch};
  CHECK_FALSE(h.s.board().accept("a1", acc, h.now));
  h.s.board().disconnected("a1", h.now);
  h.now += 2000;
  h.pump();
  CHECK(h.stage(run, "S") == "running");  // within the lease
  h.agent("a2");
  h.now += 1500;
  h.pump();
  auto second = h.assigns();
  REQUIRE(second.size() == 1);
  CHECK(second[0].first == "a2");
  CHECK(second[0].second.epoch == first[0].second.epoch + 1);
  CHECK(second[0].second.spec.attempt == 2);
  // The first holder's late finish is refused.
  protocol::Finish late;
  late.job_id = first[0].second.job_id;
  late.epoch = first[0].second.epoch;
  late.result = "SUCCESS";
  auto r = h.s.finish("a1", late, 0, h.now);
  REQUIRE(std::holds_alternative<protocol::Nack>(r));
  CHECK(std::get<protocol::Nack>(r).code == "stale_epoch");
  h.finish("a2", second[0].second, "SUCCESS");
  CHECK(h.status(run) == RunStatus::Succeeded);
}

TEST_CASE("without retry a lost agent fails the stage with 'agent lost'") {
  SchedulerOptions o;
  o.lease_ttl_ms = 3000;
  Harness h(o);
  int64_t run = h.submit(kThree);
  h.agent("a1");
  auto as = h.assigns();
  h.s.board().disconnected("a1", h.now);
  h.now += 3500;
  h.pump();
  CHECK(h.stage(run, "Build") == "failed");
  CHECK(h.s.run(run)->stages[0].reason == "agent lost");
}

TEST_CASE("a job its agent fenced is retried like a lost one, unless it was being cancelled") {
  const char* src = R"(pipeline {
  agent any
  stages { stage('S') { options { retry(2) }
        steps { sh 'true' } } }
})";
  auto fenced_finish = [](const protocol::Assign& a) {
    protocol::Finish f;
    f.job_id = a.job_id;
    f.epoch = a.epoch;
    f.result = "ABORTED";
    f.reason = "fenced: lease lost";
    f.fenced = true;
    return f;
  };
  SECTION("the controller was away: the attempt is retried") {
    Harness h;
    int64_t run = h.submit(src);
    h.agent("a1");
    auto first = h.assigns();
    REQUIRE(first.size() == 1);
    CHECK(std::holds_alternative<protocol::FinishAck>(
        h.s.finish("a1", fenced_finish(first[0].second), 0, h.now)));
    h.pump();
    auto second = h.assigns();
    REQUIRE(second.size() == 1);
    CHECK(second[0].second.spec.attempt == 2);
    CHECK(h.s.run(run)->stages[0].reason == "attempt 1: fenced: lease lost; retrying");
    h.finish("a1", second[0].second, "SUCCESS");
    CHECK(h.status(run) == RunStatus::Succeeded);
  }
  SECTION("a cancel was under way: the run is aborted, not retried") {
    Harness h;
    int64_t run = h.submit(src);
    h.agent("a1");
    auto first = h.assigns();
    REQUIRE(h.s.cancel_run(run, "cancelled by alice", h.now));
    h.pump();
    h.s.finish("a1", fenced_finish(first[0].second), 0, h.now);
    h.pump();
    CHECK(h.assigns().empty());
    CHECK(h.status(run) == RunStatus::Aborted);
  }
}

TEST_CASE("heartbeats keep the lease, a finish past the committed log gets log_gap") {
  SchedulerOptions o;
  o.lease_ttl_ms = 3000;
  Harness h(o);
  int64_t run = h.submit(kThree);
  h.agent("a1");
  auto as = h.assigns();
  CHECK_FALSE(h.s.board().accept("a1", {as[0].second.job_id, as[0].second.epoch}, h.now));
  for (int i = 0; i < 5; ++i) {
    h.now += 2000;
    protocol::Heartbeat hb;
    hb.jobs.push_back({as[0].second.job_id, as[0].second.epoch});
    h.s.board().heartbeat("a1", hb, h.now);
    h.pump();
  }
  CHECK(h.stage(run, "Build") == "running");
  protocol::Finish f;
  f.job_id = as[0].second.job_id;
  f.epoch = as[0].second.epoch;
  f.result = "SUCCESS";
  f.log_bytes = 100;
  auto r = h.s.finish("a1", f, 40, h.now);
  REQUIRE(std::holds_alternative<protocol::Nack>(r));
  CHECK(std::get<protocol::Nack>(r).expected == 40);
  CHECK(std::holds_alternative<protocol::FinishAck>(h.s.finish("a1", f, 100, h.now)));
  // Replayed: acknowledged again, applied once.
  CHECK(std::holds_alternative<protocol::FinishAck>(h.s.finish("a1", f, 100, h.now)));
}

TEST_CASE("cancel stops the running job and skips the rest") {
  Harness h;
  int64_t run = h.submit(kThree);
  h.agent("a1");
  auto as = h.assigns();
  REQUIRE(h.s.cancel_run(run, "cancelled by alice", h.now));
  h.pump();
  bool cancel_sent = false;
  for (auto& o : h.sent) cancel_sent |= std::holds_alternative<protocol::Cancel>(o.message);
  CHECK(cancel_sent);
  h.sent.clear();
  h.finish("a1", as[0].second, "ABORTED");
  CHECK(h.stage(run, "Test") == "skipped");
  auto post = h.assigns();  // post { failure } does not apply to ABORTED
  CHECK(post.empty());
  CHECK(h.status(run) == RunStatus::Aborted);
}

TEST_CASE("when branch skips a stage on other branches") {
  Harness h;
  const char* src = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'true' } }
    stage('Deploy') { when { branch 'release/*' }
        steps { sh 'true' } }
  }
})";
  int64_t run = h.submit(src, "refs/heads/feature/x");
  h.agent("a1");
  auto as = h.assigns();
  h.finish("a1", as[0].second, "SUCCESS");
  CHECK(h.stage(run, "Deploy") == "skipped");
  CHECK(h.status(run) == RunStatus::Succeeded);
  int64_t run2 = h.submit(src, "release/1.0");
  as = h.assigns();
  h.finish("a1", as[0].second, "SUCCESS");
  as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.stage_id == "Deploy");
  h.finish("a1", as[0].second, "SUCCESS");
  CHECK(h.status(run2) == RunStatus::Succeeded);
}

TEST_CASE("FIFO across runs and a restart adopts a running job") {
  Harness h;
  int64_t r1 = h.submit(kThree);
  int64_t r2 = h.submit(kThree);
  h.agent("a1");
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.run_id == std::to_string(r1));
  (void)r2;

  // A new scheduler (the controller restarted) gets the stored records.
  Harness h2;
  RunRecord rec = h.s.run(r1)->run;
  std::vector<StageRecord> stages = h.s.run(r1)->stages;
  REQUIRE_FALSE(h2.s.submit(rec, stages, h2.now));
  h2.pump();
  protocol::Hello hello;
  hello.agent_id = "a1";
  hello.instance_id = "a1-1";
  hello.name = "a1";
  hello.resume.push_back({as[0].second.job_id, as[0].second.epoch, 10, false});
  auto w = h2.s.hello(hello, "pool", h2.now);
  REQUIRE(w.resume.size() == 1);
  CHECK(w.resume[0].verdict == "continue");
  h2.finish("a1", as[0].second, "SUCCESS");
  auto next = h2.assigns();
  REQUIRE(next.size() == 1);
  CHECK(next[0].second.spec.stage_id == "Test");
}

TEST_CASE("credentials reach the job as secrets, a missing one fails the stage") {
  SchedulerOptions o;
  o.secrets["deploy-key"] = "s3cret-value";
  Harness h(o);
  int64_t run = h.submit(R"(pipeline {
  agent any
  environment { KEY = credentials('deploy-key') }
  stages {
    stage('A') { steps { sh 'true' } }
    stage('B') { environment { T = credentials('nope') }
        steps { sh 'true' } }
  }
})");
  h.agent("a1");
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.secrets.at("KEY") == "s3cret-value");
  h.finish("a1", as[0].second, "SUCCESS");
  CHECK(h.stage(run, "B") == "failed");
  CHECK(h.s.run(run)->stages[1].reason.find("credentials 'nope' not found") != std::string::npos);
}

TEST_CASE("a parallel stage's own post section runs as a job after its branches") {
  Harness h;
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages {
    stage('P') {
      parallel {
        stage('A') { steps { sh 'true' } }
        stage('B') { steps { sh 'false' } }
      }
      post { failure { echo 'a branch failed' } }
    }
  }
})");
  h.agent("a1", {}, 4);
  auto as = h.assigns();
  REQUIRE(as.size() == 2);
  for (auto& [agent, a] : as)
    h.finish(agent, a, a.spec.stage_id == "P / B" ? "FAILURE" : "SUCCESS");
  auto post = h.assigns();
  REQUIRE(post.size() == 1);
  CHECK(post[0].second.spec.stage_id == "P");
  CHECK(post[0].second.spec.current_result == "FAILURE");
  CHECK(h.stage(run, "P") == "running");
  h.finish("a1", post[0].second, "SUCCESS");
  CHECK(h.stage(run, "P") == "failed");
  CHECK(h.status(run) == RunStatus::Failed);
}

namespace {

const char* kGated = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'make' } }
    stage('Production') {
      deploy('production')
      gmud { title "Release ${GIT_COMMIT}"; impact 'high'; rollbackPlan 'redeploy the last tag' }
      steps { sh './deploy.sh' }
    }
  }
})";

// Submits kGated, runs its Build on the connected agent, and stops at the gate.
int64_t build_to_gate(Harness& h) {
  int64_t run = h.submit(kGated);
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  h.finish(as[0].first, as[0].second, "SUCCESS");
  REQUIRE(h.s.gates().take_requests().size() == 1);
  return run;
}

SchedulerOptions gated_options() {
  SchedulerOptions o;
  o.environments = {{"production", true}, {"staging", false}};
  return o;
}

}  // namespace

TEST_CASE("a gated deploy waits without an agent until its gate opens") {
  Harness h(gated_options());
  int64_t run = h.submit(kGated);
  h.agent("a1");
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  h.finish(as[0].first, as[0].second, "SUCCESS");
  CHECK(h.stage(run, "Production") == "waiting");
  CHECK(h.status(run) == RunStatus::Waiting);
  CHECK(h.assigns().empty());
  CHECK(h.s.board().queue_depth() == 0);
  auto gates = h.s.gates().take_requests();
  REQUIRE(gates.size() == 1);
  CHECK(gates[0].kind == GateKind::Gmud);
  CHECK(gates[0].environment == "production");
  CHECK(gates[0].impact == "high");
  CHECK(gates[0].rollback_plan == "redeploy the last tag");
  CHECK(gates[0].title == "Release ");  // no commit in this run
  // Ticks neither ask again nor dispatch.
  h.now += 500;
  h.pump();
  CHECK(h.s.gates().take_requests().empty());
  CHECK(h.assigns().empty());
  CHECK_FALSE(h.s.open_gate(run, "Production", GateKind::Input, {}, h.now));
  REQUIRE(h.s.open_gate(run, "Production", GateKind::Gmud, {{"GMUD_ID", "GMUD-1"}}, h.now));
  h.pump();
  CHECK(h.assigns().empty());  // the release is recorded first
  h.open_release(run, "Production");
  CHECK(h.status(run) == RunStatus::Running);
  as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.stage_id == "Production");
  CHECK(as[0].second.spec.env.at("DEPLOY_ENV") == "production");
  CHECK(as[0].second.spec.env.at("GMUD_ID") == "GMUD-1");
  CHECK(as[0].second.spec.env.at("RELEASE_ID") == "R-1");
  h.finish(as[0].first, as[0].second, "SUCCESS");
  CHECK(h.status(run) == RunStatus::Succeeded);
}

TEST_CASE("a refused gate fails the stage, cancelling a waiting run asks to cancel its request") {
  Harness h(gated_options());
  h.agent("a1");
  int64_t run = build_to_gate(h);
  REQUIRE(h.s.fail_gate(run, "Production", GateKind::Gmud, "rejected by bob: not today", h.now));
  h.pump();
  CHECK(h.status(run) == RunStatus::Failed);
  CHECK(h.stage(run, "Production") == "failed");
  CHECK(h.s.run(run)->stages.back().reason.find("rejected by bob") != std::string::npos);

  int64_t second = build_to_gate(h);
  REQUIRE(h.s.cancel_run(second, "cancelled by ops", h.now));
  h.pump();
  auto gates = h.s.gates().take_requests();
  REQUIRE(gates.size() == 1);
  CHECK(gates[0].cancel);
  CHECK(gates[0].stage_id == "Production");
  CHECK(h.status(second) == RunStatus::Aborted);
  CHECK_FALSE(h.s.open_gate(second, "Production", GateKind::Gmud, {}, h.now));
}

TEST_CASE("a deploy to an unknown environment fails closed, an ungated one just runs") {
  Harness h(gated_options());
  h.agent("a1");
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages {
    stage('Stage') { deploy('staging'); steps { sh 'true' } }
    stage('Moon') { deploy('moon'); steps { sh 'true' } }
  }
})");
  CHECK(h.assigns().empty());
  h.open_release(run, "Stage");
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.stage_id == "Stage");
  h.finish(as[0].first, as[0].second, "SUCCESS");
  CHECK(h.assigns().empty());
  CHECK(h.status(run) == RunStatus::Failed);
  CHECK(h.s.run(run)->stages[1].reason ==
        "deploys to unknown environment 'moon' (the controller defines: production, staging)");
  CHECK(h.s.gates().take_requests().empty());
}

TEST_CASE("an input gate gives its values to the stage's steps") {
  Harness h;
  h.agent("a1");
  int64_t run = h.submit(R"(pipeline {
  agent any
  stages {
    stage('Ask') {
      input { message "Ship ${BUILD_NUMBER}?"; ok 'Ship it'; submitter 'alice,ops'
              parameters { string(name: 'TARGET', defaultValue: 'eu') } }
      steps { sh 'echo $TARGET' }
    }
  }
})");
  CHECK(h.assigns().empty());
  auto gates = h.s.gates().take_requests();
  REQUIRE(gates.size() == 1);
  CHECK(gates[0].kind == GateKind::Input);
  CHECK(gates[0].message == "Ship 1?");
  CHECK(gates[0].ok == "Ship it");
  CHECK(gates[0].submitter == "alice,ops");
  REQUIRE(h.s.open_gate(run, "Ask", GateKind::Input, {{"TARGET", "us"}}, h.now));
  h.pump();
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].second.spec.env.at("TARGET") == "us");
}

TEST_CASE("after a restart a waiting stage asks for its gate again") {
  Harness h(gated_options());
  h.agent("a1");
  int64_t run = build_to_gate(h);
  RunRecord record = h.s.run(run)->run;
  std::vector<StageRecord> stages = h.s.run(run)->stages;
  CHECK(record.status == RunStatus::Waiting);

  Harness restarted(gated_options());  // a new controller process
  REQUIRE_FALSE(restarted.s.submit(record, stages, restarted.now));
  restarted.pump();
  auto gates = restarted.s.gates().take_requests();
  REQUIRE(gates.size() == 1);
  CHECK(gates[0].stage_id == "Production");
  CHECK(restarted.stage(run, "Production") == "waiting");
  restarted.agent("a1");
  CHECK(restarted.assigns().empty());
  REQUIRE(restarted.s.open_gate(run, "Production", GateKind::Gmud, {}, restarted.now));
  restarted.pump();
  restarted.open_release(run, "Production");
  CHECK(restarted.assigns().size() == 1);
}

TEST_CASE("a queued deploy waits for the clock again right before it starts") {
  SchedulerOptions o = gated_options();
  bool frozen = false;
  o.deploy_blocked = [&](const std::string& env, int64_t) {
    CHECK(env == "production");
    return frozen ? std::vector<std::string>{"freeze until 2027-01-05"}
                  : std::vector<std::string>{};
  };
  Harness h(std::move(o));
  int64_t run = h.submit(kGated);
  h.agent("a1");
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  h.finish(as[0].first, as[0].second, "SUCCESS");
  REQUIRE(h.s.gates().take_requests().size() == 1);
  frozen = true;  // approved before the freeze, queued into it
  REQUIRE(h.s.open_gate(run, "Production", GateKind::Gmud, {}, h.now));
  h.pump();
  h.open_release(run, "Production");
  CHECK(h.assigns().empty());
  CHECK(h.stage(run, "Production") == "queued");
  CHECK(h.s.run(run)->stages[1].reason == "held: freeze until 2027-01-05");
  frozen = false;
  h.pump();
  REQUIRE(h.assigns().size() == 1);
  CHECK(h.stage(run, "Production") == "running");
}

TEST_CASE("an agent pool kept for some repositories takes no job of others", "[scheduler][trust]") {
  SchedulerOptions o;
  o.pool_repositories["pool"] = {"app"};  // the harness's agents say hello with token "pool"
  Harness h(o);
  h.agent("prod-1", {"prod"});
  const char* deploy = R"(pipeline {
  agent { label 'prod' }
  stages { stage('Ship') { steps { sh 'true' } } }
}
)";
  // Another repository's run waits: the only prod agent is kept for app.
  int64_t other = h.submit(deploy, "main", "other");
  CHECK(h.assigns().empty());
  CHECK(h.s.run(other)->stages.at(0).status == RunStatus::Queued);
  // The app's own run goes there.
  int64_t app = h.submit(deploy, "main", "app");
  auto a = h.assigns();
  REQUIRE(a.size() == 1);
  CHECK(a[0].first == "prod-1");
  CHECK(h.s.run(app) != nullptr);
  // Lifting the restriction lets the other run in.
  h.finish("prod-1", a[0].second, "SUCCESS");
  h.s.set_pool_repositories({});
  h.pump();
  auto b = h.assigns();
  REQUIRE(b.size() == 1);
  CHECK(b[0].second.spec.job_name == "other");
}
