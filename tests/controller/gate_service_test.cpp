// Gates and releases in process: a deploy to a gated environment waits for
// its change request; an ineligible approver is refused (audited); the
// quorum opens the gate, which records release R-1 before the job is handed
// out; a request that cannot be stored leaves the stage waiting (never
// opened, never failed) and is asked again once the store answers.
#include "service/gate_service.hpp"

#include "service_fixture.hpp"

using namespace gantry::controller;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::RunStatus;
using gantry::Status;

namespace {

const char* kDeploy = R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      deploy('production')
      steps { sh 'make deploy' }
    }
  }
})";

struct World : Services {
  RecordingOutbox outbox;
  bool lock_gates = false;
  World() {
    EnvironmentConfig prod;
    prod.name = "production";
    prod.gated = true;
    prod.policy.approvers = {"release-managers"};
    prod.policy.min_approvals = 1;
    config.environments["production"] = prod;
    UserConfig rm{"rita", "release-manager", {"release-managers"}, {"rita@example.com"}, ""};
    UserConfig dev{"dev", "developer", {}, {"dev@example.com"}, ""};
    config.users = {rm, dev};
    engine.scheduler().reconfigure({{"production", true}}, {}, {});
    engine.set_outbox(&outbox);
    EngineHooks hooks;
    hooks.gates = [this](const std::vector<GateRequest>& g) {
      if (!lock_gates) return gates.handle(g);
      DbLock lock(dir.data());  // the store fails just as the request is opened
      gates.handle(g);
    };
    engine.set_hooks(hooks);
    engine.scheduler().hello(hello_of("a1"), "pool", clock.now_ms());
  }
  int64_t start() {
    RunRecord run;
    run.job_name = "app";
    run.repo_name = "app";  // a configured repository: only those deploy through a gate
    run.created_by = "dev";
    run.pipeline_source = kDeploy;
    run.pipeline_format = "jenkinsfile";
    REQUIRE(engine.start_run(run));
    return run.id;
  }
  gantry::net::Response decide(const std::string& who, Role role, bool approve,
                               const std::string& comment = "ok") {
    gantry::net::Request req;
    req.method = "POST";
    req.body = R"({"comment":")" + comment + R"("})";
    Principal p{
        who, role, false,
        who == "rita" ? std::vector<std::string>{"release-managers"} : std::vector<std::string>{}};
    return gates.decide("GMUD-1", req, p, approve);
  }
  Principal admin{"ada", Role::Admin, false, {}};
  size_t audited(const std::string& action) {
    size_t n = 0;
    for (const auto& e : store.audit().audit_entries(0, 100000)) n += e.action == action ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("a gated deploy waits for its GMUD and goes out, recorded, once approved", "[gates]") {
  World w;
  w.start();
  CHECK(w.outbox.take<protocol::Assign>().empty());  // waits, holding no agent
  auto shown = w.gates.show("GMUD-1", w.admin);
  REQUIRE(shown.status == 200);
  CHECK_THAT(shown.body, Catch::Contains("\"pending\""));
  // The run's trigger may not approve their own change.
  auto refused = w.decide("dev", Role::Developer, true);
  CHECK(refused.status == 403);
  CHECK(w.audited("permission.denied") == 1);
  auto approved = w.decide("rita", Role::ReleaseManager, true);
  INFO(approved.body);
  REQUIRE(approved.status == 200);
  CHECK_THAT(approved.body, Catch::Contains("\"approved\""));
  REQUIRE(w.engine.flush());
  auto assigns = w.outbox.take<protocol::Assign>();
  REQUIRE(assigns.size() == 1);
  CHECK(assigns[0].spec.env.at("RELEASE_ID") == "R-1");
  CHECK(assigns[0].spec.env.at("GMUD_ID") == "GMUD-1");
  auto release = w.releases.show("R-1", w.admin);
  CHECK(release.status == 200);
  // A second decision by the same person is refused as a conflict.
  CHECK(w.decide("rita", Role::ReleaseManager, true).status == 409);
}

TEST_CASE("a change request that cannot be stored leaves the stage waiting, asked again",
          "[gates]") {
  World w;
  w.lock_gates = true;
  int64_t id = w.start();
  w.lock_gates = false;
  // No request, and the stage neither opened nor failed: it waits, saying why.
  CHECK(w.gates.show("GMUD-1", w.admin).status == 404);
  CHECK(w.outbox.take<protocol::Assign>().empty());
  const RunState* run = w.engine.scheduler().run(id);
  REQUIRE(run);
  CHECK(run->stages.at(0).status == RunStatus::Waiting);
  CHECK_THAT(run->stages.at(0).reason, Catch::Contains("could not be stored"));
  // The next check asks again, now that the store answers.
  w.gates.check();
  auto shown = w.gates.show("GMUD-1", w.admin);
  CHECK(shown.status == 200);
  CHECK_THAT(shown.body, Catch::Contains("\"pending\""));
  // Asked once: a later check does not open a second request.
  w.gates.check();
  CHECK(w.gates.show("GMUD-2", w.admin).status == 404);
}

TEST_CASE("a GMUD range is whole, unknown with what to do, or refused when it goes back",
          "[gates]") {
  gantry::git::UnshippedRange r;
  r.ok = true;
  r.commits.resize(3);
  r.commits[2].author_email = "rosa@example.com";
  GmudRange base{4, std::string(40, 'b'), {}, "", ""};
  const RangeContext c{"production", "app", std::string(40, 'c'), 10000};
  GmudRange whole = judge_range(base, r, c);
  CHECK(whole.unknown.empty());
  CHECK(whole.refuse.empty());
  REQUIRE(whole.changes.size() == 3);
  CHECK(whole.changes[2].author_email == "rosa@example.com");

  r.too_long = true;
  GmudRange longer = judge_range(base, r, c);
  CHECK(longer.changes.empty());
  CHECK(longer.unknown ==
        "more than 10000 commits ship since R-4, production's current release of app, and their "
        "authors cannot all be checked: an admin may raise environments.production.gmud."
        "max_range, or deploy a commit with a shorter range first");
  r.too_long = false;

  r.missing = {base.commit};
  CHECK_THAT(judge_range(base, r, c).unknown,
             Catch::StartsWith("commit bbbbbbbbbbbb of R-4, production's current release, is "
                               "not in the mirror of app (history rewritten?)"));
  // An older release the mirror lost only hides less: still known.
  r.missing = {std::string(40, 'a')};
  CHECK(judge_range(base, r, c).unknown.empty());
  r.missing.clear();

  r.ok = false;
  r.error = "range app: boom";
  CHECK_THAT(judge_range(base, r, c).unknown, Catch::Contains("(range app: boom)"));
  r.ok = true;

  r.behind = true;
  r.commits.clear();
  CHECK(judge_range(base, r, c).refuse ==
        "commit cccccccccccc is older than production's current release R-4 (bbbbbbbbbbbb): "
        "deploying it would take production back; use gantry rollback");
}
