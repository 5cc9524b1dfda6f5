// Roles granted per repository (issue 17, item 9; SPEC §9), against real daemons: two teams
// share a controller, each a developer on its own repository only (`role: none` globally).
// Each reads, triggers, cancels and watches its own runs, and another team's run, request,
// release or repository is not there for it: lists leave them out, reads answer 404, the
// events WebSocket never carries them. A release manager of one repository approves its GMUDs
// and no other's. A reload takes a grant away at once.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "event_watcher.hpp"
#include "harness.hpp"

using namespace gantry::e2e;

namespace {

const std::string kConfig = R"(users:
  - {name: ann, role: none, groups: [team-a], token: ann-token}
  - {name: bob, role: none, groups: [team-b], token: bob-token}
  - {name: rae, role: none, groups: [rm-app], emails: [rae@example.com], token: rae-token}
  - {name: quinn, role: viewer, token: quinn-token}
  - {name: ada, role: admin, token: admin-token}
environments:
  production:
    gmud: {approvers: [rm-app, release-managers], min_approvals: 1, expires_after: 1h}
)";

const std::string kPipeline = R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo "built $JOB_NAME"' } }
    stage('Deploy') {
      deploy('production') {
        rollback { sh 'echo undo' }
      }
      steps { sh 'echo shipped' }
    }
  }
}
)";

struct Teams {
  Cluster c{kConfig};
  Teams() {
    c.add_repository("app", c.make_repo({{"Jenkinsfile", kPipeline}}),
                     "access: {team-a: developer, rm-app: release-manager}");
    c.add_repository("billing", c.make_repo({{"Jenkinsfile", kPipeline}}),
                     "access: {team-b: developer}");
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
  }
  HttpResult as(const std::string& token, const std::string& method, const std::string& path,
                const std::string& body = "") {
    return c.http(method, path, body, token);
  }
  int64_t trigger(const std::string& token, const std::string& repo) {
    HttpResult r = as(token, "POST", "/api/v1/runs", R"({"repo":")" + repo + R"("})");
    INFO(r.body);
    REQUIRE(r.status == 201);
    return json::parse(r.body)["id"].get<int64_t>();
  }
  std::vector<int64_t> listed_runs(const std::string& token) {
    HttpResult r = as(token, "GET", "/api/v1/runs");
    INFO(r.body);
    REQUIRE(r.status == 200);
    std::vector<int64_t> ids;
    const json list = json::parse(r.body)["runs"];
    for (const auto& run : list) ids.push_back(run["id"].get<int64_t>());
    return ids;
  }
  // The run's change request, once it exists (read as the admin).
  std::string request_of(int64_t run) {
    for (int i = 0; i < 600; ++i) {
      const json list = c.get_json("/api/v1/approvals")["approvals"];
      for (const auto& a : list) {
        if (a["run"] == run) return a["id"];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no change request for run " << run);
    return "";
  }
};

bool contains(const std::vector<int64_t>& ids, int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

TEST_CASE("a team's developers reach their own repository's runs and nothing of another's") {
  Teams t;
  Watcher ann_events(t.c, "?since=0", {}, "ann-token");
  const int64_t a = t.trigger("ann-token", "app");
  const int64_t b = t.trigger("bob-token", "billing");

  // Triggering another team's repository, an unconfigured URL or an inline pipeline.
  HttpResult cross = t.as("ann-token", "POST", "/api/v1/runs", R"({"repo":"billing"})");
  CHECK(cross.status == 403);
  CHECK_THAT(cross.body, Catch::Contains("may not trigger runs of repository 'billing'"));
  const std::string url = t.c.make_repo({{"Jenkinsfile", kPipeline}});
  CHECK(t.as("ann-token", "POST", "/api/v1/runs", R"({"repo":")" + url + R"("})").status == 403);
  CHECK(t.as("ann-token", "POST", "/api/v1/runs",
             R"({"source":"pipeline { agent any\n stages { stage('x') { steps { sh 'id' } } } }"})")
            .status == 403);

  // Lists: each team its own; a global viewer both.
  CHECK(contains(t.listed_runs("ann-token"), a));
  CHECK_FALSE(contains(t.listed_runs("ann-token"), b));
  CHECK(contains(t.listed_runs("bob-token"), b));
  CHECK_FALSE(contains(t.listed_runs("bob-token"), a));
  CHECK(contains(t.listed_runs("quinn-token"), a));
  CHECK(contains(t.listed_runs("quinn-token"), b));

  // Another team's run does not exist for ann, whatever she asks of it.
  const std::string rb = "/api/v1/runs/" + std::to_string(b);
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"GET", rb},
                                                        {"GET", rb + "/log?stage=Build"},
                                                        {"GET", rb + "/artifacts"},
                                                        {"GET", rb + "/artifacts/file?path=x"},
                                                        {"POST", rb + "/cancel"}}) {
    HttpResult r = t.as("ann-token", method, path, method == "POST" ? "{}" : "");
    INFO(method << " " << path << " -> " << r.body);
    CHECK(r.status == 404);
  }
  CHECK(t.as("ann-token", "GET", "/api/v1/runs/" + std::to_string(a)).status == 200);
  // Retrying: another team's run is not there for her either.
  CHECK(t.as("ann-token", "POST", rb + "/retry", "{}").status == 404);

  // Repositories, the audit log, metrics and agents.
  const json repos = json::parse(t.as("ann-token", "GET", "/api/v1/repos").body)["repos"];
  REQUIRE(repos.size() == 1);
  CHECK(repos[0]["name"] == "app");
  CHECK(t.as("ann-token", "GET", "/api/v1/audit").status == 403);
  CHECK(t.as("ann-token", "GET", "/metrics").status == 403);
  CHECK(t.as("ann-token", "GET", "/api/v1/agents").status == 200);
  CHECK(t.as("quinn-token", "GET", "/api/v1/audit").status == 200);

  // Both runs reach their deploy gates; bob's request is not there for ann.
  const std::string ga = t.request_of(a), gb = t.request_of(b);
  const json approvals = json::parse(t.as("ann-token", "GET", "/api/v1/approvals").body);
  bool saw_a = false;
  for (const auto& x : approvals["approvals"]) {
    CHECK(x["id"] != gb);
    saw_a = saw_a || x["id"] == ga;
  }
  CHECK(saw_a);
  CHECK(t.as("ann-token", "GET", "/api/v1/approvals/" + gb).status == 404);

  // Rae manages app's releases and nothing else: billing's request is not there for her.
  HttpResult refused = t.as("rae-token", "POST", "/api/v1/approvals/" + gb + "/approve", "{}");
  INFO(refused.body);
  CHECK(refused.status == 404);
  HttpResult approved = t.as("rae-token", "POST", "/api/v1/approvals/" + ga + "/approve", "{}");
  INFO(approved.body);
  REQUIRE(approved.status == 200);
  REQUIRE(t.c.wait_run(a)["status"] == "succeeded");
  CHECK(json::parse(t.as("rae-token", "GET", "/api/v1/releases").body)["releases"].size() == 1);
  CHECK(t.as("bob-token", "GET", "/api/v1/releases/R-1").status == 404);
  CHECK(json::parse(t.as("bob-token", "GET", "/api/v1/releases").body)["releases"].empty());
  HttpResult rollback = t.as("bob-token", "POST", "/api/v1/releases/R-1/rollback", "{}");
  CHECK(rollback.status == 403);  // no repository grants bob the permission at all

  // Bob cancels his own waiting run; ann's watcher saw her run end and nothing of his.
  CHECK(t.as("bob-token", "POST", rb + "/cancel", "{}").status == 200);
  REQUIRE(t.c.wait_run(b)["status"] == "aborted");
  REQUIRE(ann_events.wait_run_end(a));
  Watcher late(t.c, "?since=0", {},
               "ann-token");  // a replay from the store is filtered the same way
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (Watcher* w : {&ann_events, &late}) {
    bool saw_own = false;
    for (const json& e : w->events()) {
      CHECK(e["run"] != b);
      saw_own = saw_own || e["run"] == a;
    }
    CHECK(saw_own);
  }
}

TEST_CASE("a reload takes a repository grant away at once") {
  Teams t;
  t.trigger("ann-token", "app");
  // app now grants team-a nothing.
  std::string text;
  {
    std::ifstream in(t.c.config_path());
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string grant = "team-a: developer, ";
  const size_t at = text.find(grant);
  REQUIRE(at != std::string::npos);
  text.erase(at, grant.size());
  std::ofstream(t.c.config_path(), std::ios::trunc) << text;
  t.c.signal_controller(SIGHUP);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    status = t.as("ann-token", "GET", "/api/v1/runs").status;
    if (status == 403) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CHECK(status == 403);  // no role anywhere: not even the list
  CHECK(t.as("ann-token", "POST", "/api/v1/runs", R"({"repo":"app"})").status == 403);
}
