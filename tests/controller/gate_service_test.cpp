// Gates and releases in process: a deploy to a gated environment waits for
// its change request; an ineligible approver is refused (audited); the
// quorum opens the gate, which records release R-1 before the job is handed
// out; a request that cannot be stored leaves the stage waiting (never
// opened, never failed) and is asked again once the store answers.
#include "service/gate_service.hpp"

#include <nlohmann/json.hpp>

#include "service/approvals_json.hpp"
#include "service_fixture.hpp"

using namespace gantry::controller;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::ApprovalStatus;
using gantry::GateKind;
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

TEST_CASE("an input step's question brings its parameters, checked and bounded", "[gates]") {
  GateRequest g;
  std::string why;
  REQUIRE(parse_input_question(
      R"({"id":"go","message":"Go?","ok":"Go","submitter":"rita","submitter_parameter":"BY",
          "parameters":[{"name":"WHO","type":"string","default":"x","description":"who"},
                        {"name":"FAST","type":"booleanParam"},
                        {"name":"WHERE","type":"choice","choices":["eu","us"],"default":"us"},
                        {"name":"PW","type":"password","default":"s3cret"}]})",
      g, why));
  REQUIRE(g.parameters.size() == 4);
  CHECK(g.parameters[0].name == "WHO");
  CHECK(g.parameters[0].default_value == "x");
  CHECK(g.parameters[0].description == "who");
  CHECK(g.parameters[1].default_value == "false");
  CHECK(g.parameters[2].choices == std::vector<std::string>{"eu", "us"});
  CHECK(g.parameters[2].default_value == "eu");  // a choice's default is its first, as in Jenkins

  // Stored as the directive's are, so approving checks the values the same way.
  ApprovalRecord a;
  a.kind = GateKind::Input;
  a.parameters = input_parameters_json(g);
  std::map<std::string, std::string> values = {{"WHERE", "mars"}};
  CHECK_FALSE(check_input_values(a, values, why));
  CHECK(why == "parameter 'WHERE' must be one of the input's choices");
  values = {{"WHO", "alice"}, {"FAST", "true"}, {"PW", "hunter2"}};
  REQUIRE(check_input_values(a, values, why));
  CHECK(values == std::map<std::string, std::string>{
                      {"WHO", "alice"}, {"FAST", "true"}, {"WHERE", "eu"}, {"PW", "hunter2"}});

  // The step gets the values in clear; the API never shows a password.
  a.id = 7;
  a.status = ApprovalStatus::Approved;
  a.decisions.push_back({"rita", true, "", 0, values});
  a.values = decided_values(a);
  nlohmann::json reply = nlohmann::json::parse(input_reply_json(a));
  CHECK(reply["values"]["PW"] == "hunter2");
  CHECK(reply["values"]["BY"] == "rita");
  std::string shown = approval_json(a, gantry::gmud::Evaluation{});
  CHECK(shown.find("hunter2") == std::string::npos);
  CHECK(shown.find("s3cret") == std::string::npos);
  CHECK(nlohmann::json::parse(shown)["values"]["WHO"] == "alice");
  a.status = ApprovalStatus::Pending;
  CHECK_FALSE(nlohmann::json::parse(input_reply_json(a)).contains("values"));

  auto refused = [&](const std::string& params) {
    GateRequest r;
    std::string error;
    CHECK_FALSE(parse_input_question(R"({"message":"Go?","parameters":)" + params + "}", r, error));
    return error;
  };
  CHECK(refused(R"({"name":"X"})") ==
        "input question 'parameters' must be an array of at most 100 definitions");
  std::string many = "[";
  for (int i = 0; i < 101; ++i)
    many += std::string(i ? "," : "") + R"({"type":"string","name":"P)" + std::to_string(i) + "\"}";
  CHECK(refused(many + "]") ==
        "input question 'parameters' must be an array of at most 100 definitions");
  CHECK(refused(R"([{"name":"F","type":"file"}])") ==
        "input parameter 'F': type must be string, text, booleanParam, choice or password");
  CHECK(refused(R"([{"type":"string"}])") ==
        "an input parameter needs a name of at most 200 bytes");
  CHECK(refused(R"([{"name":"C","type":"choice"}])") ==
        "input parameter 'C': a choice needs choices");
  CHECK(refused(R"([{"name":"B","type":"booleanParam","default":"maybe"}])") ==
        "input parameter 'B': a booleanParam's default is true or false");
  CHECK(refused(R"([{"name":"A","type":"string"},{"name":"A","type":"text"}])") ==
        "input parameter 'A' is defined twice");
  CHECK(refused(R"([{"name":"A","type":"string","default":")" + std::string(5000, 'x') + "\"}]") ==
        "input parameter fields must be strings of at most 4096 bytes");
  CHECK(refused(R"([{"name":"A","type":"string","choices":["x"]}])") ==
        "input parameter 'A': only a choice has choices");
}
