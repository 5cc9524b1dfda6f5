// The route table and the door, in process: 401 before anything, 403 from
// the table (audited, rate-limited), 405 with Allow, JSON depth, and the
// head check that refuses before a body is read.
#include "service/routes.hpp"

#include "service/agent_gateway.hpp"
#include "service/audit_log.hpp"
#include "service/gate_service.hpp"
#include "service/release_service.hpp"
#include "service/run_service.hpp"
#include "service_fixture.hpp"

using namespace gantry::controller;
using namespace gantry::controller::testing;
namespace protocol = gantry::protocol;
using gantry::Status;

namespace {

struct World : Services {
  World() {
    auth.add_user("vera", Role::Viewer, sha256_hex("viewer-token"));
    auth.add_user("dev", Role::Developer, sha256_hex("dev-token"));
    auth.add_user("ada", Role::Admin, sha256_hex("admin-token"));
  }
  gantry::net::Response call(const std::string& method, const std::string& path,
                             const std::string& token, std::string body = {}) {
    gantry::net::Request r;
    r.method = method;
    r.path = path;
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    r.body = std::move(body);
    return routes.handle(r);
  }
  size_t audited(const std::string& action) {
    size_t n = 0;
    for (const auto& e : store.audit().audit_entries(0, 100000)) n += e.action == action ? 1 : 0;
    return n;
  }
};

}  // namespace

TEST_CASE("every API route but the public ones needs a token", "[routes]") {
  World w;
  for (const auto& route : w.routes.table()) {
    std::string path = route.pattern;
    for (auto p = path.find('{'); p != std::string::npos; p = path.find('{'))
      path.replace(p, path.find('}', p) - p + 1, "1");
    INFO(route.method << " " << path);
    CHECK(w.call(route.method, path, "").status == 401);
    CHECK(w.call(route.method, path, "wrong").status == 401);
  }
  CHECK(w.call("GET", "/healthz", "").status == 200);
}

TEST_CASE("the table's permissions: a viewer reads and may not trigger, refusals audited",
          "[routes]") {
  World w;
  CHECK(w.call("GET", "/api/v1/runs", "viewer-token").status == 200);
  auto r = w.call("POST", "/api/v1/runs", "viewer-token", R"({"source":"x"})");
  CHECK(r.status == 403);
  CHECK_THAT(r.body, Catch::Contains("vera may not trigger runs"));
  CHECK(w.audited("permission.denied") == 1);
  CHECK(w.call("GET", "/api/v1/runs", "agent-token").status == 403);
  CHECK(w.call("DELETE", "/api/v1/runs", "viewer-token").status == 405);
  CHECK(w.call("GET", "/api/v1/nothing", "viewer-token").status == 404);
}

TEST_CASE("audited refusals are rate-limited per principal, then summarized", "[routes]") {
  World w;
  for (int i = 0; i < 500; ++i)
    CHECK(w.call("POST", "/api/v1/runs", "viewer-token", "{}").status == 403);
  CHECK(w.audited("permission.denied") == AuditLog::kRefusalsPerWindow);
  w.clock.advance(AuditLog::kWindowMs);
  CHECK(w.call("POST", "/api/v1/runs", "viewer-token", "{}").status == 403);
  CHECK(w.audited("permission.denied.suppressed") == 1);
  CHECK(w.audited("permission.denied") == AuditLog::kRefusalsPerWindow + 1);
}

TEST_CASE("deeply nested JSON is refused before it is parsed", "[routes]") {
  World w;
  std::string deep(100000, '[');
  auto r = w.call("POST", "/api/v1/runs", "dev-token", deep);
  CHECK(r.status == 400);
  CHECK_THAT(r.body, Catch::Contains("nests deeper"));
  CHECK(json_depth_ok(R"({"a":[1,{"b":"[[[[[[[["}]})", 3));
  CHECK_FALSE(json_depth_ok("[[[[", 3));
}

TEST_CASE("the head check refuses before the body: no token, too large, foreign upload",
          "[routes]") {
  World w;
  gantry::net::Request head;
  head.method = "POST";
  head.path = "/api/v1/runs";
  head.headers["content-length"] = "100000000";
  auto r = w.routes.check_head(head);
  REQUIRE(r);
  CHECK(r->status == 401);
  head.headers["authorization"] = "Bearer dev-token";
  r = w.routes.check_head(head);
  REQUIRE(r);
  CHECK(r->status == 413);
  head.headers["content-length"] = "1000";
  CHECK_FALSE(w.routes.check_head(head));
  gantry::net::Request upload;
  upload.method = "PUT";
  upload.path = "/api/v1/agent/jobs/1.0/artifacts";
  upload.headers["authorization"] = "Bearer agent-token";
  r = w.routes.check_head(upload);
  REQUIRE(r);
  CHECK(r->status == 409);  // no such job held by this agent
}

TEST_CASE("healthz says unhealthy while state is not stored", "[routes]") {
  World w;
  RunRecord run;
  run.job_name = "app";
  run.pipeline_source = kTwoStages;
  run.pipeline_format = "jenkinsfile";
  REQUIRE(w.engine.start_run(run));
  {
    DbLock lock(w.dir.data());
    w.engine.scheduler().hello(hello_of("a1"), "pool", w.clock.now_ms());
    CHECK_FALSE(w.engine.flush());
    auto h = w.call("GET", "/healthz", "");
    CHECK(h.status == 503);
    CHECK_THAT(h.body, Catch::Contains("busy"));
    // A write answers 503 with the reason, and nothing is stored.
    auto created = w.call(
        "POST", "/api/v1/runs", "admin-token",
        R"({"source":"pipeline {\n agent any\n stages {\n stage('a') { steps { sh 'true' } }\n }\n}"})");
    INFO(created.body);
    CHECK(created.status == 503);
  }
  w.engine.tick();
  CHECK(w.call("GET", "/healthz", "").status == 200);
  CHECK(w.store.runs().list_runs(10).size() == 1);
}
