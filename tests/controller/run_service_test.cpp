// Runs at the door: sizes that could not travel to an agent are refused
// with 422 and the limit; lists carry no sources or parameters.
#include "service/run_service.hpp"

#include <nlohmann/json.hpp>

#include "service_fixture.hpp"

using namespace gantry::controller;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::Status;

namespace {

struct World : Services {
  Principal dev{"dev", Role::Developer, false, {}};
  // Inline pipelines are for admins (SPEC §9).
  Principal ada{"ada", Role::Admin, false, {}};

  gantry::net::Response create(const std::string& body) { return create_as(body, ada); }
  gantry::net::Response create_as(const std::string& body, const Principal& who) {
    gantry::net::Request r;
    r.method = "POST";
    r.path = "/api/v1/runs";
    r.body = body;
    return runs.create(r, who);
  }
};

std::string inline_run(const std::string& source, const std::string& params_json = "{}") {
  std::string escaped;
  for (char c : source) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return R"({"source":")" + escaped + R"(","params":)" + params_json + "}";
}

}  // namespace

TEST_CASE("a pipeline too big to send to an agent is refused at submission", "[runs]") {
  World w;
  std::string big = std::string(kTwoStages) + "\n// " + std::string(1200 * 1000, 'x') + "\n";
  auto r = w.create(inline_run(big));
  CHECK(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains("as sent to an agent"));
  CHECK(w.store.runs().list_runs(10).empty());
  CHECK(w.create(inline_run(kTwoStages)).status == 201);
}

TEST_CASE("escaping counts: a pipeline under the cap in bytes but over it as JSON", "[runs]") {
  World w;
  // 300 KB of control characters take 1.8 MB as JSON escapes.
  std::string source = std::string(kTwoStages) + "\n//" + std::string(300 * 1000, '\x01');
  CHECK_FALSE(w.runs.oversize(source, {}).empty());
}

TEST_CASE("oversized parameters are refused with the limit", "[runs]") {
  World w;
  std::string value(70 * 1024, 'v');
  auto r = w.create(inline_run(kTwoStages, R"({"BIG":")" + value + R"("})"));
  CHECK(r.status == 422);
  CHECK_THAT(r.body, Catch::Contains("parameter BIG"));
  CHECK_THAT(r.body, Catch::Contains("64 KiB"));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 20; ++i) many["P" + std::to_string(i)] = std::string(60 * 1024, 'v');
  CHECK_THAT(w.runs.oversize(kTwoStages, many), Catch::Contains("in all"));
}

TEST_CASE("a run list carries no pipeline sources or parameters", "[runs]") {
  World w;
  const std::string declared = R"(pipeline {
  agent any
  parameters { string(name: 'SECRETISH', defaultValue: '') }
  stages { stage('test') { steps { sh 'make test' } } }
})";
  REQUIRE(w.create(inline_run(declared, R"({"SECRETISH":"value-123"})")).status == 201);
  gantry::net::Request r;
  r.method = "GET";
  r.path = "/api/v1/runs";
  auto list = w.runs.list(r, w.ada);
  CHECK(list.status == 200);
  CHECK_THAT(list.body, !Catch::Contains("value-123"));
  CHECK_THAT(list.body, !Catch::Contains("make test"));
  auto one = w.runs.show(1);
  CHECK_THAT(one.body, Catch::Contains("value-123"));
}

TEST_CASE("a store failure answers 503 and a missing run 404", "[runs]") {
  World w;
  CHECK(w.runs.show(42).status == 404);
  DbLock lock(w.dir.data());
  auto r = w.create(inline_run(kTwoStages));
  CHECK(r.status == 503);
  CHECK_THAT(r.body, Catch::Contains("busy"));
}

TEST_CASE("undeclared, reserved and loader parameters are refused with 400 and change nothing",
          "[runs][parameters]") {
  World w;
  for (const char* params : {R"({"NOPE":"x"})", R"({"GIT_COMMIT":"0000000-forged"})",
                             R"({"LD_PRELOAD":"/tmp/evil.so"})", R"x({"BASH_ENV":"$(id>&2)"})x"}) {
    INFO(params);
    auto r = w.create(inline_run(kTwoStages, params));
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("bad_parameter"));
  }
  CHECK_THAT(w.create(inline_run(kTwoStages, R"({"NOPE":"x"})")).body,
             Catch::Contains("it declares none"));
  CHECK(w.store.runs().list_runs(10).empty());
}

TEST_CASE("inline pipelines and unconfigured URLs are for admins and allowed prefixes",
          "[runs][trust]") {
  World w;
  auto inline_by_dev = w.create_as(inline_run(kTwoStages), w.dev);
  CHECK(inline_by_dev.status == 403);
  CHECK_THAT(inline_by_dev.body, Catch::Contains("admins only"));
  CHECK(w.create_as(inline_run(kTwoStages), w.ada).status == 201);
  // Refused before anything is stored or read: the audit log says who tried.
  CHECK(w.store.runs().list_runs(10, 0, "", true).size() == 1);
}

TEST_CASE("an inline run cannot deploy to a gated environment", "[runs][trust]") {
  World w;
  w.engine.scheduler().reconfigure({{"production", true}}, {}, {});
  const std::string deploy = R"(pipeline {
  agent any
  stages {
    stage('Deploy') {
      deploy('production')
      steps { echo 'shipping' }
    }
  }
}
)";
  auto created = w.create(inline_run(deploy));
  REQUIRE(created.status == 201);
  int64_t id = nlohmann::json::parse(created.body)["id"];
  const auto* run = w.engine.scheduler().run(id);
  std::string reason = run ? run->stages.at(0).reason : w.store.runs().stages(id).at(0).reason;
  CHECK_THAT(reason, Catch::Contains("gated environment 'production'"));
  CHECK(w.store.gates().approvals_of_run(id).empty());
}

TEST_CASE("a developer's own runs: started by them, or by their push", "[runs]") {
  Principal dev{"dev", Role::Developer, false, {}};
  dev.emails = {"dev@example.com"};
  RunRecord run;
  run.created_by = "dev";
  CHECK(owns_run(dev, run));
  run.created_by = "eve";
  CHECK_FALSE(owns_run(dev, run));
  // A push: the pusher the webhook named (by name or e-mail), or the head commit's author.
  run.created_by = "git";
  CHECK_FALSE(owns_run(dev, run));
  run.pushers = {{"dev", "", "push to main"}};
  CHECK(owns_run(dev, run));
  run.pushers = {{"someone", "dev@example.com", "push to main"}};
  CHECK(owns_run(dev, run));
  run.pushers.clear();
  run.author_email = "dev@example.com";
  CHECK(owns_run(dev, run));
  // An API run by someone else whose commit dev wrote is not dev's.
  run.created_by = "eve";
  CHECK_FALSE(owns_run(dev, run));
}
