// GMUD change approval through real daemons (SPEC §7, issue 6): a
// production stage waits at its gate holding no agent; only eligible release
// managers move it; a rejection, an expiry or a freeze act on the run; the
// request survives a controller restart. Users decide through the `gantry`
// CLI with their own tokens, as they would.
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

// Commits in the harness' repositories are by Tess <t@example.com>.
const std::string kUsers = R"(users:
  - {name: dev, role: developer, token: dev-token, emails: [dev@example.com]}
  - {name: tess, role: release-manager, groups: [release-managers], emails: [T@Example.com], token: tess-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
  - {name: rob, role: release-manager, groups: [release-managers], emails: [rob@example.com], token: rob-token}
  - {name: olga, role: operator, groups: [release-managers], token: olga-token}
  - {name: ada, role: admin, token: admin-token}
cancel_grace: 1s
)";

const std::string kEnvironments = R"(environments:
  staging: {}
  production:
    gmud:
      approvers: [release-managers]
      min_approvals: 2
      expires_after: 1h
  quick:
    gmud: {approvers: [release-managers], expires_after: 2s}
)";

std::string deploy_pipeline(const std::string& env, bool gmud_block = true) {
  return R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'echo built' } }
    stage('Deploy') {
      deploy(')" +
         env + R"(')
)" +
         (gmud_block ? "      gmud { title \"Release ${GIT_COMMIT}\"; impact 'high'; rollbackPlan "
                       "'redeploy' }\n"
                     : "") +
         R"(      steps { sh 'echo "deploying to $DEPLOY_ENV under $GMUD_ID"' }
    }
  }
}
)";
}

struct GmudCluster {
  Cluster c;
  std::map<std::string, std::string> watched;  // repository path -> configured name
  explicit GmudCluster(const std::string& extra = kEnvironments) : c(kUsers + extra) {
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
  }
  void restart() {
    c.stop_controller(SIGKILL);
    c.start_controller();
    c.admin_token = "admin-token";
  }
  int64_t trigger(const std::string& pipeline) {
    return trigger_repo(c.make_repo({{"Jenkinsfile", pipeline}}));
  }
  // A configured repository (only those may deploy through a gate): watched on first use.
  int64_t trigger_repo(const std::string& repo) {
    auto [it, first] = watched.try_emplace(repo);
    if (first) it->second = c.watch_repository(repo);
    CliResult t = c.cli({"--token", "dev-token", "trigger", "--repo", it->second});
    REQUIRE(t.exit_code == 0);
    return std::stoll(t.out);
  }
  CliResult as(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", token});
    return c.cli(args);
  }
  json approvals() { return c.get_json("/api/v1/approvals")["approvals"]; }
  // The run's deploy waits at its gate, and its request exists: the stage
  // waits first, the request follows once the commit range is known.
  void wait_gate(int64_t run, const std::string& stage = "Deploy") {
    c.wait_stage(run, stage, "waiting");
    for (int i = 0; i < 600; ++i) {
      json list = approvals();
      for (const auto& a : list) {
        if (a["run"] == run && a["stage"] == stage) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no change request for run " << run);
  }
};

bool has_text(const json& list, const std::string& text) {
  for (const auto& item : list) {
    if (item.is_string() && item.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

std::string iso(std::time_t t) {
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

TEST_CASE("a production deploy waits for two eligible release managers, holding no agent", "[pg]") {
  GmudCluster g;
  int64_t id = g.trigger(deploy_pipeline("production"));
  json stage = g.c.wait_stage(id, "Deploy", "waiting");
  CHECK(stage["agent"] == "");
  CHECK(g.c.get_json("/api/v1/runs/" + std::to_string(id))["status"] == "waiting");
  json list = g.approvals();
  REQUIRE(list.size() == 1);
  json a = list[0];
  CHECK(a["id"] == "GMUD-1");
  CHECK(a["status"] == "pending");
  CHECK(a["environment"] == "production");
  CHECK(a["required"] == 2);
  CHECK(a["impact"] == "high");
  CHECK(a["triggered_by"] == "dev");
  CHECK(a["title"].get<std::string>().rfind("Release ", 0) == 0);
  CHECK(a["title"].get<std::string>().size() == 8 + 40);
  CHECK(has_text(a["blocked_by"], "needs 2 more approvals from release-managers"));
  CHECK(has_text(a["blocked_by"], "tess is ineligible: authored"));
  CliResult plan =
      g.c.cli({"plan", GANTRY_SOURCE_DIR "/examples/demo/Jenkinsfile", "--env", "production"});
  CHECK(plan.exit_code == 0);
  CHECK(plan.out.find("needs 2 approvals from release-managers (may approve: tess, rita, rob;") !=
        std::string::npos);

  // A developer may not approve; nor may the commit's author, release
  // manager though she is; nor an operator in the group.
  CliResult dev = g.as("dev-token", {"approve", "GMUD-1"});
  CHECK(dev.exit_code == 1);
  CHECK(dev.out.find("may not approve") != std::string::npos);
  CliResult tess = g.as("tess-token", {"approve", "GMUD-1"});
  CHECK(tess.exit_code == 1);
  CHECK(tess.out.find("tess is ineligible: authored") != std::string::npos);
  CHECK(g.as("olga-token", {"approve", "GMUD-1"}).exit_code == 1);

  CliResult rita = g.as("rita-token", {"approve", "GMUD-1", "--comment", "looks good"});
  INFO(rita.out);
  CHECK(rita.exit_code == 0);
  CHECK(rita.out.find("needs 1 more approval") != std::string::npos);
  CliResult show = g.c.cli({"show", std::to_string(id)});
  CHECK(show.out.find("waiting for GMUD-1: needs 1 more approval from release-managers") !=
        std::string::npos);
  CHECK(g.as("rita-token", {"approve", "GMUD-1"}).exit_code == 1);  // one decision per person
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(g.c.wait_stage(id, "Deploy", "waiting")["agent"] == "");

  int64_t before = now_ms();
  CliResult rob = g.as("rob-token", {"approve", "GMUD-1"});
  CHECK(rob.exit_code == 0);
  json run = g.c.wait_run(id);
  CHECK(run["status"] == "succeeded");
  json deploy = stage_of(run, "Deploy");
  CHECK(deploy["started_at"].get<int64_t>() >= before);
  CHECK(g.c.stage_log(id, "Deploy").find("deploying to production under GMUD-1") !=
        std::string::npos);
  a = g.approvals()[0];
  CHECK(a["status"] == "approved");
  CHECK(a["approvals"].size() == 2);
  CHECK(a["blocked_by"].empty());
  CHECK(g.as("rob-token", {"reject", "GMUD-1", "--comment", "late"}).exit_code == 1);

  // Every decision and refusal is in the audit chain, which verifies.
  json audit = g.c.get_json("/api/v1/audit");
  std::string actions;
  for (const auto& e : audit["entries"])
    actions += e["actor"].get<std::string>() + ":" + e["action"].get<std::string>() + " ";
  INFO(actions);
  CHECK(actions.find("controller:approval.request") != std::string::npos);
  CHECK(actions.find("dev:permission.denied") != std::string::npos);
  CHECK(actions.find("tess:permission.denied") != std::string::npos);
  CHECK(actions.find("rita:approval.approve") != std::string::npos);
  CHECK(actions.find("rob:approval.approve") != std::string::npos);
  CHECK(g.c.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("a rejection fails the run naming who and why, an expiry fails it too") {
  GmudCluster g;
  // No gmud block: the request opens all the same.
  int64_t id = g.trigger(deploy_pipeline("production", false));
  g.wait_gate(id);
  CHECK(g.as("rita-token", {"reject", "GMUD-1"}).exit_code == 2);  // needs a comment
  CHECK(g.c.http("POST", "/api/v1/approvals/GMUD-1/reject", "{}", "rita-token").status == 400);
  CliResult r = g.as("rita-token", {"reject", "GMUD-1", "--comment", "not during the sale"});
  CHECK(r.exit_code == 0);
  json run = g.c.wait_run(id);
  CHECK(run["status"] == "failed");
  json deploy = stage_of(run, "Deploy");
  CHECK(deploy["status"] == "failed");
  CHECK(deploy["reason"] == "GMUD-1 rejected by rita: not during the sale");
  CHECK(deploy["attempts"] == 0);

  int64_t quick = g.trigger(deploy_pipeline("quick"));
  g.wait_gate(quick);
  run = g.c.wait_run(quick, std::chrono::seconds(20));
  CHECK(run["status"] == "failed");
  CHECK(stage_of(run, "Deploy")["reason"].get<std::string>().find("GMUD-2 expired at") == 0);
  CHECK(g.approvals()[0]["status"] == "expired");

  // A deploy to an environment the controller does not define fails closed.
  int64_t moon = g.trigger(deploy_pipeline("moon"));
  run = g.c.wait_run(moon);
  CHECK(run["status"] == "failed");
  CHECK(stage_of(run, "Deploy")["reason"].get<std::string>().find("unknown environment 'moon'") !=
        std::string::npos);
  CHECK(g.approvals().size() == 2);

  // Cancelling a waiting run cancels its request.
  int64_t cancelled = g.trigger(deploy_pipeline("production"));
  g.wait_gate(cancelled);
  CHECK(g.c.cli({"cancel", std::to_string(cancelled)}).exit_code == 0);
  CHECK(g.c.wait_run(cancelled)["status"] == "aborted");
  json a = g.approvals()[0];
  CHECK(a["id"] == "GMUD-3");
  CHECK(a["status"] == "cancelled");
  CHECK(g.as("rob-token", {"approve", "GMUD-3"}).exit_code == 1);
}

TEST_CASE("a freeze holds an approved change until it ends") {
  // An hour-long freeze, ended by a reload once the approved change is seen
  // held: a freeze of a few seconds ran out before the approval on a loaded
  // machine under ASan.
  std::time_t now = std::time(nullptr);
  const std::string freeze = iso(now - 60) + "/" + iso(now + 3600);
  GmudCluster g(R"(environments:
  production:
    gmud:
      approvers: [release-managers]
      freezes: [")" +
                freeze + R"("]
)");
  int64_t id = g.trigger(deploy_pipeline("production"));
  g.wait_gate(id);
  REQUIRE(g.as("rita-token", {"approve", "GMUD-1"}).exit_code == 0);
  json a = g.approvals()[0];
  CHECK(a["status"] == "approved");
  CHECK(has_text(a["blocked_by"], "freeze until"));
  CHECK(g.c.wait_stage(id, "Deploy", "waiting")["agent"] == "");

  std::string config = read_file(g.c.config_path());
  size_t at = config.find(freeze);
  REQUIRE(at != std::string::npos);
  config.replace(at, freeze.size(), iso(now - 60) + "/" + iso(now - 30));  // over
  const int64_t ended_ms = int64_t{std::time(nullptr)} * 1000;
  std::ofstream(g.c.config_path(), std::ios::trunc) << config;
  g.c.signal_controller(SIGHUP);
  json run = g.c.wait_run(id, std::chrono::seconds(30));
  CHECK(run["status"] == "succeeded");
  CHECK(stage_of(run, "Deploy")["started_at"].get<int64_t>() >= ended_ms);
}

TEST_CASE("a pending GMUD survives a controller restart and approving it resumes the run", "[pg]") {
  GmudCluster g;
  int64_t id = g.trigger(deploy_pipeline("production"));
  g.wait_gate(id);
  REQUIRE(g.as("rita-token", {"approve", "GMUD-1"}).exit_code == 0);
  g.restart();
  g.c.wait_agents(1);
  json list = g.approvals();
  REQUIRE(list.size() == 1);
  CHECK(list[0]["status"] == "pending");
  CHECK(list[0]["approvals"].size() == 1);
  CHECK(g.c.wait_stage(id, "Deploy", "waiting")["agent"] == "");
  REQUIRE(g.as("rob-token", {"approve", "GMUD-1"}).exit_code == 0);
  CHECK(g.c.wait_run(id)["status"] == "succeeded");
  CHECK(g.approvals().size() == 1);  // no second request after the restart
}

TEST_CASE("an input gate takes its submitter's answer and parameters to the steps") {
  GmudCluster g;
  int64_t id = g.trigger(R"(pipeline {
  agent any
  stages {
    stage('Ship') {
      input {
        message 'Ship it?'
        ok 'Ship'
        submitter 'rita'
        submitterParameter 'APPROVER'
        parameters { choice(name: 'REGION', choices: ['eu', 'us'], description: 'where') }
      }
      steps { sh 'echo "region=$REGION by $APPROVER"' }
    }
  }
}
)");
  g.c.wait_stage(id, "Ship", "waiting");
  json a = g.approvals()[0];
  CHECK(a["id"] == "INPUT-1");
  CHECK(a["message"] == "Ship it?");
  CHECK(a["parameters"][0]["name"] == "REGION");
  CHECK(g.as("rob-token", {"approve", "INPUT-1"}).exit_code == 1);  // not a submitter
  CHECK(g.as("rita-token", {"approve", "INPUT-1", "-p", "REGION=mars"}).exit_code == 2);
  CHECK(g.as("rita-token", {"approve", "INPUT-1", "-p", "REGION=us"}).exit_code == 0);
  CHECK(g.c.wait_run(id)["status"] == "succeeded");
  CHECK(g.c.stage_log(id, "Ship").find("region=us by rita") != std::string::npos);
}

TEST_CASE("the range is everything since the environment's last deploy, not since the last run") {
  GmudCluster g;
  std::string repo = g.c.make_repo({{"Jenkinsfile", deploy_pipeline("production")}});
  int64_t first = g.trigger_repo(repo);
  g.wait_gate(first);
  REQUIRE(g.as("rita-token", {"approve", "GMUD-1"}).exit_code == 0);
  REQUIRE(g.as("rob-token", {"approve", "GMUD-1"}).exit_code == 0);
  REQUIRE(g.c.wait_run(first)["status"] == "succeeded");
  std::string deployed = g.c.get_json("/api/v1/runs/" + std::to_string(first))["commit"];

  auto commit_as = [&](const std::string& who, const std::string& email) {
    std::string cmd = "git -C '" + repo + "' -c user.name=" + who + " -c user.email=" + email +
                      " commit -q --allow-empty -m 'work by " + who + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  };
  commit_as("Rob", "rob@example.com");
  int64_t second = g.trigger_repo(repo);
  g.wait_gate(second);
  json a = g.approvals()[0];
  CHECK(a["id"] == "GMUD-2");
  CHECK(has_text(a["blocked_by"], "rob is ineligible: authored"));
  REQUIRE(g.as("rita-token", {"reject", "GMUD-2", "--comment", "not yet"}).exit_code == 0);
  REQUIRE(g.c.wait_run(second)["status"] == "failed");

  // Rob's commit never reached production: it is still in the next range.
  commit_as("Nina", "nina@example.com");
  int64_t third = g.trigger_repo(repo);
  g.wait_gate(third);
  a = g.approvals()[0];
  CHECK(a["id"] == "GMUD-3");
  CHECK(a["range_base"] == deployed);
  CHECK(a["range"].size() == 2);
  CHECK(has_text(a["blocked_by"], "rob is ineligible: authored"));
  CHECK(g.as("rob-token", {"approve", "GMUD-3"}).exit_code == 1);
}

TEST_CASE("kill -HUP reloads the GMUD policy, a bad config changes nothing, both are audited") {
  GmudCluster g;
  int64_t id = g.trigger(deploy_pipeline("production"));
  g.wait_gate(id);
  CHECK(g.approvals()[0]["required"] == 2);
  std::string config = read_file(g.c.config_path());
  // Entries of `action` from before (watching the repository was a reload too) do not count.
  auto entries_of = [&](const std::string& action) {
    std::vector<json> found;
    json audit = g.c.get_json("/api/v1/audit");  // kept: a range-for over a temporary's member
    for (const auto& e : audit["entries"]) {
      if (e["action"] == action) found.push_back(e);
    }
    return found;
  };
  const size_t reloads_before = entries_of("config.reload").size();
  auto wait_audit = [&](const std::string& action) {
    const size_t before = action == "config.reload" ? reloads_before : 0;
    for (int i = 0; i < 200; ++i) {
      std::vector<json> found = entries_of(action);
      if (found.size() > before) return found.back();
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL("no audit entry " + action + "; controller log:\n" +
         read_file(g.c.dir() + "/controller.log"));
    return json();
  };
  // A typo: the controller keeps running on the old policy.
  std::ofstream(g.c.config_path(), std::ios::trunc) << config << "enviroments: {}\n";
  g.c.signal_controller(SIGHUP);
  json failed = wait_audit("config.reload_failed");
  CHECK(failed["details"]["error"].get<std::string>().find("unknown key 'enviroments'") !=
        std::string::npos);
  CHECK(g.approvals()[0]["required"] == 2);

  std::string one = config;
  one.replace(one.find("min_approvals: 2"), 16, "min_approvals: 1");
  std::ofstream(g.c.config_path(), std::ios::trunc) << one;
  g.c.signal_controller(SIGHUP);
  wait_audit("config.reload");
  CHECK(g.approvals()[0]["required"] == 1);
  REQUIRE(g.as("rita-token", {"approve", "GMUD-1"}).exit_code == 0);
  CHECK(g.c.wait_run(id)["status"] == "succeeded");
  CHECK(g.c.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("an input step holds its agent until a submitter answers, a rejection aborts the run") {
  GmudCluster g;
  const std::string pipeline = R"(pipeline {
  agent any
  stages {
    stage('Ship') {
      steps {
        sh 'echo before'
        input message: 'Ship it?', submitter: 'rita', submitterParameter: 'WHO'
        sh 'echo "after $WHO"'
      }
    }
  }
}
)";
  int64_t id = g.trigger(pipeline);
  json a;
  for (int i = 0; i < 200 && a.is_null(); ++i) {
    json list = g.approvals();
    if (!list.empty()) a = list[0];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(a.is_object());
  CHECK(a["id"] == "INPUT-1");
  CHECK(a["message"] == "Ship it?");
  CHECK(g.c.wait_stage(id, "Ship", "running")["agent"] != "");  // the step holds its agent
  CHECK(g.as("rob-token", {"approve", "INPUT-1"}).exit_code == 1);
  CHECK(g.as("rita-token", {"approve", "INPUT-1"}).exit_code == 0);
  CHECK(g.c.wait_run(id)["status"] == "succeeded");
  std::string log = g.c.stage_log(id, "Ship");
  CHECK(log.find("Waiting for INPUT-1") != std::string::npos);
  CHECK(log.find("after rita") != std::string::npos);

  int64_t second = g.trigger(pipeline);
  for (int i = 0; i < 200 && g.approvals().size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(g.as("rita-token", {"reject", "INPUT-2", "--comment", "not today"}).exit_code == 0);
  json run = g.c.wait_run(second);
  CHECK(run["status"] == "aborted");
  CHECK(stage_of(run, "Ship")["reason"] == "INPUT-2 rejected by rita: not today");
}

TEST_CASE("bad input on the approval and release routes gets a clear error and changes nothing") {
  GmudCluster g;
  int64_t id = g.trigger(deploy_pipeline("production"));
  g.wait_gate(id);
  auto post = [&](const std::string& path, const std::string& body,
                  const std::string& token = "rita-token") {
    return g.c.http("POST", path, body, token).status;
  };
  CHECK(post("/api/v1/approvals/GMUD-1/approve", "{not json") == 400);
  CHECK(post("/api/v1/approvals/GMUD-1/approve", R"({"comment": 42})") == 400);
  CHECK(post("/api/v1/approvals/GMUD-1/approve", R"({"verdict": "yes"})") == 400);
  CHECK(post("/api/v1/approvals/GMUD-1/approve",
             R"({"comment": ")" + std::string(5000, 'x') + R"("})") == 400);
  CHECK(post("/api/v1/approvals/GMUD-1/approve", R"({"parameters": {"X": "1"}})") == 400);
  CHECK(post("/api/v1/approvals/GMUD-99/approve", "{}") == 404);
  CHECK(post("/api/v1/approvals/GMUD-abc/approve", "{}") == 404);
  CHECK(post("/api/v1/approvals/GMUD-1/frobnicate", "{}") == 404);
  CHECK(g.c.http("GET", "/api/v1/approvals/GMUD-1/approve").status == 405);
  CHECK(g.c.http("GET", "/api/v1/approvals?status=bogus").status == 400);
  CHECK(g.c.http("GET", "/api/v1/approvals", "", "no-such-token").status == 401);
  CHECK(post("/api/v1/releases/R-1/rollback", "{}") == 404);
  CHECK(post("/api/v1/releases/R-x/rollback", "{}") == 404);
  CHECK(g.c.http("DELETE", "/api/v1/releases").status == 405);
  // The agent token opens none of these; a user token not the agent's input route.
  CHECK(g.c.http("GET", "/api/v1/approvals", "", g.c.agent_token).status == 403);
  CHECK(post("/api/v1/agent/jobs/nope/input?epoch=1&agent=x", "{}") == 403);
  CHECK(post("/api/v1/agent/jobs/nope/input?epoch=1&agent=x", "{}", g.c.agent_token) == 409);
  // Nothing changed: no decision, still pending, and the controller serves.
  json a = g.approvals()[0];
  CHECK(a["approvals"].empty());
  CHECK(a["status"] == "pending");
  CHECK(g.c.http("GET", "/healthz").status == 200);
}
