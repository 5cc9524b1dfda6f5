// The GMUD and release state machines under random controller crashes
// (issue 9): kill -9 of the controller before, during and after approvals
// and rollbacks, at seeded points. Invariants: no deploy without its quorum,
// no decision lost or counted twice, no release rolled back twice, and the
// audit chain verifies afterwards. Users decide through the `gantry` CLI; a
// command cut by a crash is retried as a user would, and must then either
// apply or say it already did.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "fault_support.hpp"

using namespace gantry::fault;

namespace {

const std::string kUsers = R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: rita, role: release-manager, groups: [release-managers], token: rita-token}
  - {name: rob, role: release-manager, groups: [release-managers], token: rob-token}
  - {name: ruth, role: release-manager, groups: [release-managers], token: ruth-token}
environments:
  staging: {}
  production:
    gmud: {approvers: [release-managers], min_approvals: 2, expires_after: 1h}
)";

// Runs the CLI with `args` as `token`, and `alongside` (if any) on another
// thread at the same time, with the controller killed (kill -9) around them
// as `crash` says: 0 not at all, 1 while the command runs (at a random
// moment), 2 right after it. The controller is back when this returns.
CliResult crashing(Cluster& c, Seed& seed, int crash, const std::string& token,
                   std::vector<std::string> args, const std::function<void()>& alongside = {}) {
  args.insert(args.begin(), {"--token", token});
  const auto after = seed.ms(0, 60);
  std::thread killer([&] {
    if (crash != 1) return;
    std::this_thread::sleep_for(after);
    c.signal_controller(SIGKILL);
  });
  std::thread other([&] {
    if (alongside) alongside();
  });
  CliResult r = c.cli(args);
  killer.join();
  other.join();
  if (crash != 0) {
    c.stop_controller(SIGKILL);
    c.start_controller();
    c.admin_token = "admin-token";
  }
  return r;
}

// The controller (its admin: ada) and one agent.
void start(Cluster& c) {
  c.start_controller();
  c.admin_token = "admin-token";
  c.start_agent({"A"});
  c.wait_agents(1);
}

size_t audit_count(Cluster& c, const std::string& action) {
  size_t n = 0;
  const json audit = c.get_json("/api/v1/audit?limit=1000");
  for (const auto& e : audit["entries"]) n += e["action"] == action ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "GMUD under random controller crashes: no deploy without quorum, no decision lost or doubled") {
  FAULT_SEED(seed);
  Cluster c(kUsers);
  start(c);
  const std::string marks = c.dir() + "/deploys.txt";
  const std::string pipeline = R"JF(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('Deploy') {
      deploy('production')
      steps { sh 'echo "$GMUD_ID $(date +%s%3N)" >> )JF" +
                               marks + R"JF(' }
    }
  }
}
)JF";
  constexpr int kRuns = 3;
  std::vector<int64_t> runs;
  runs.reserve(kRuns);
  for (int i = 0; i < kRuns; ++i)
    // Configured repositories: only those may deploy through a gate.
    runs.push_back(c.trigger(c.watch_repository(c.make_repo({{"Jenkinsfile", pipeline}}))));
  REQUIRE(wait_for([&] { return c.get_json("/api/v1/approvals")["approvals"].size() == kRuns; },
                   std::chrono::seconds(30)));

  // Two approvals per change, by two of the three release managers, in a
  // random order, each with a random crash.
  struct Action {
    std::string gmud, user;
  };
  std::vector<Action> actions;
  const std::vector<std::string> managers = {"rita", "rob", "ruth"};
  for (int k = 1; k <= kRuns; ++k) {
    const auto skip = static_cast<size_t>(seed.uniform(0, 2));
    for (size_t m = 0; m < managers.size(); ++m)
      if (m != skip) actions.push_back({"GMUD-" + std::to_string(k), managers[m]});
  }
  for (size_t i = actions.size() - 1; i > 0; --i)
    std::swap(actions[i], actions[static_cast<size_t>(seed.uniform(0, static_cast<int64_t>(i)))]);
  std::map<std::string, int64_t> quorum_asked_at;  // when the second approval was first asked for
  std::map<std::string, int> asked;
  std::ostringstream trail;
  for (const Action& a : actions) {
    const int crash = static_cast<int>(seed.uniform(0, 2));
    trail << a.user << " approves " << a.gmud << " (crash " << crash << "); ";
    const int64_t t0 = now_ms();
    if (++asked[a.gmud] == 2) quorum_asked_at[a.gmud] = t0;
    CliResult r = crashing(c, seed, crash, a.user + "-token", {"approve", a.gmud});
    if (r.exit_code != 0) {
      // Cut by the crash: asked again, it applies now or says it already did
      // (this user's decision, or the quorum it completed, is there).
      CliResult again = c.cli({"--token", a.user + "-token", "approve", a.gmud});
      INFO(trail.str() << " retry: " << again.out);
      CHECK((again.exit_code == 0 ||
             again.out.find("has already decided on " + a.gmud) != std::string::npos ||
             again.out.find(a.gmud + " is approved; it takes no more decisions") !=
                 std::string::npos));
    }
  }
  INFO(trail.str());

  for (int64_t id : runs) CHECK(c.wait_run(id, std::chrono::seconds(60))["status"] == "succeeded");
  // Each change deployed once, and not before its second approval was asked for.
  std::map<std::string, std::vector<int64_t>> deploys;
  std::istringstream in(read_file(marks));
  for (std::string gmud; in >> gmud;) {
    int64_t at = 0;
    in >> at;
    deploys[gmud].push_back(at);
  }
  INFO(read_file(marks));
  CHECK(deploys.size() == kRuns);
  for (const auto& [gmud, times] : deploys) {
    CHECK(times.size() == 1);
    CHECK(times.front() >= quorum_asked_at[gmud]);
  }
  // Every decision is recorded once, in the request and in the audit chain.
  const json approvals = c.get_json("/api/v1/approvals")["approvals"];
  for (const auto& a : approvals) {
    CHECK(a["status"] == "approved");
    CHECK(a["approvals"].size() == 2);
  }
  CHECK(audit_count(c, "approval.approve") == actions.size());
  CliResult verified = c.cli({"audit", "verify"});
  INFO(verified.out);
  CHECK(verified.exit_code == 0);
}

TEST_CASE("releases under random controller crashes: no release rolled back twice") {
  FAULT_SEED(seed);
  Cluster c(kUsers);
  start(c);
  const std::string marker = c.dir() + "/rollbacks.txt";
  const std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('Deploy') {
      deploy('staging') {
        rollback { sh 'sleep 0.3; echo "$RELEASE_ID" >> )" + marker +
                                                            R"(' }
      }
      steps { echo "deploying $RELEASE_ID" }
    }
  }
}
)"}});
  constexpr int kReleases = 4;
  for (int i = 0; i < kReleases; ++i) {
    const int64_t id = c.trigger(repo);
    REQUIRE(c.wait_run(id)["status"] == "succeeded");
  }
  // Roll back R-4, R-3, R-2 in turn: each makes the one before current.
  // Each rollback is asked for twice at once (two release managers), with
  // a random crash.
  std::ostringstream trail;
  for (int r = kReleases; r >= 2; --r) {
    const std::string release = "R-" + std::to_string(r);
    const int crash = static_cast<int>(seed.uniform(0, 2));
    trail << "rollback " << release << " (crash " << crash << "); ";
    CliResult second;
    CliResult first = crashing(c, seed, crash, "rita-token", {"rollback", release}, [&] {
      second = c.cli({"--token", "rob-token", "rollback", release});
    });
    INFO(trail.str() << first.out << " / " << second.out);
    // Whatever was cut, the release ends rolled back, once.
    REQUIRE(wait_for(
        [&] {
          const json rel = c.get_json("/api/v1/releases/" + release);
          if (rel.value("status", "") == "rolled_back") return true;
          if (rel.value("status", "") == "succeeded" && rel.value("current", false) &&
              rel["rollback_run"].is_null()) {
            // The crash took the request with it: ask again.
            c.cli({"--token", "rita-token", "rollback", release, "--no-wait"});
          }
          return false;
        },
        std::chrono::seconds(60), std::chrono::milliseconds(300)));
  }
  INFO(trail.str());
  // Let any duplicate that slipped through run, then count.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(read_file(marker) == "R-4\nR-3\nR-2\n");
  const json list = json::parse(c.cli({"releases", "--json"}).out);
  int current = 0;
  for (const auto& rel : list) {
    const std::string id = rel["id"];
    current += rel["current"].get<bool>() ? 1 : 0;
    if (id == "R-1") {
      CHECK(rel["current"] == true);
    } else {
      CHECK(rel["status"] == "rolled_back");
    }
  }
  CHECK(current == 1);
  CHECK(audit_count(c, "release.rolled_back") == kReleases - 1);
  CliResult verified = c.cli({"audit", "verify"});
  INFO(verified.out);
  CHECK(verified.exit_code == 0);
}

TEST_CASE("a rollback run whose release link a crash cut is adopted, not run again") {
  // The controller stores a rollback run (and may start it) before it names
  // the run on the release; a crash in between leaves a run that knows its
  // release and a release that does not know its run. Made here with sqlite3.
  Cluster c(kUsers);
  start(c);
  const std::string marker = c.dir() + "/rollbacks.txt";
  const std::string repo = c.make_repo(
      {{"Jenkinsfile", R"(pipeline {
  agent any
  options { skipDefaultCheckout() }
  stages {
    stage('Deploy') {
      deploy('staging') {
        rollback { sh 'echo "start $RELEASE_ID" >> )" +
                           marker + R"(; sleep 6; echo "end $RELEASE_ID" >> )" + marker + R"(' }
      }
      steps { echo "deploying $RELEASE_ID" }
    }
  }
}
)"}});
  for (int i = 0; i < 2; ++i) REQUIRE(c.wait_run(c.trigger(repo))["status"] == "succeeded");
  REQUIRE(c.cli({"--token", "rita-token", "rollback", "R-2", "--no-wait"}).exit_code == 0);
  REQUIRE(wait_for([&] { return read_file(marker) == "start R-2\n"; }, std::chrono::seconds(30)));
  c.stop_controller(SIGKILL);
  CHECK(gantry::e2e::sqlite3_cli(
            c.dir() + "/data/gantry.db",
            "UPDATE releases SET rollback_run = 0, rolled_back_by = '' WHERE id = 2;\n"
            "SELECT changes();\n",
            c.dir()) == "1\n");
  c.start_controller();
  c.admin_token = "admin-token";
  // Asked again while the first still runs: refused, naming that run.
  CliResult again = c.cli({"--token", "rob-token", "rollback", "R-2", "--no-wait"});
  INFO(again.out);
  CHECK(again.exit_code == 1);
  CHECK(again.out.find("release R-2 is being rolled back already (run 3)") != std::string::npos);
  // When it ends, the release is rolled back by it, once.
  REQUIRE(wait_for(
      [&] { return c.get_json("/api/v1/releases/R-2").value("status", "") == "rolled_back"; },
      std::chrono::seconds(30)));
  const json r2 = c.get_json("/api/v1/releases/R-2");
  CHECK(r2["rollback_run"] == 3);
  CHECK(r2["rolled_back_by"] == "rita");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(read_file(marker) == "start R-2\nend R-2\n");
  CHECK(c.get_json("/api/v1/releases/R-1")["current"] == true);
  CHECK(audit_count(c, "release.rolled_back") == 1);
}
