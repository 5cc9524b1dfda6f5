// The GMUD gate's own holes (issue 17, findings 6, 8 and the retry part of
// 9), each written as the attack was, against real daemons and real git
// repositories: rosa, a release manager, approving a change that ships her
// own commit (on a new branch; 201 commits back); approving an older run's
// request after a newer one deployed; approving her own run once someone
// else retried it; approving a push she made herself. Plus what a request
// shows and binds: the run's parameters, password ones masked.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

// Rosa's e-mail is on her commits; the harness commits as Tess.
const std::string kConfig = R"(users:
  - {name: dev, role: developer, token: dev-token, emails: [dev@example.com]}
  - {name: rosa, role: release-manager, groups: [release-managers], emails: [rosa@example.com], token: rosa-token}
  - {name: rita, role: release-manager, groups: [release-managers], emails: [rita@example.com], token: rita-token}
  - {name: olga, role: operator, token: olga-token}
  - {name: ada, role: admin, token: admin-token}
cancel_grace: 1s
environments:
  production:
    gmud: {approvers: [release-managers], min_approvals: 1, expires_after: 1h}
)";

const std::string kPipeline = R"(pipeline {
  agent any
  parameters {
    string(name: 'REGION', defaultValue: 'eu')
    password(name: 'DB_PASSWORD', defaultValue: '')
  }
  stages {
    stage('Deploy') {
      deploy('production') {
        rollback { sh 'echo undo' }
      }
      steps { sh 'echo "shipping $GIT_COMMIT"' }
    }
  }
}
)";

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

// A cluster with one configured repository, "app" (not polled), whose
// Jenkinsfile deploys to production; runs are triggered by its name, as a
// developer may.
struct Gate {
  Cluster c;
  std::string repo;  // app's path
  explicit Gate(const std::string& extra = "", bool with_repo = true) : c(kConfig + extra) {
    if (with_repo) {
      repo = c.make_repo({{"Jenkinsfile", kPipeline}});
      c.add_repository("app", repo);
    }
    c.start_controller();
    c.admin_token = "admin-token";
    c.start_agent({});
    c.wait_agents(1);
  }
  // A commit in `repo` by `who` <email> (empty: no change to the tree).
  static std::string commit_as(const std::string& repo, const std::string& who,
                               const std::string& email, const std::string& message = "work") {
    sh("git -C '" + repo + "' -c user.name=" + who + " -c user.email=" + email +
       " commit -q --allow-empty -m '" + message + "'");
    return head(repo);
  }
  static std::string head(const std::string& repo) {
    std::string out;
    FILE* p = ::popen(("git -C '" + repo + "' rev-parse HEAD").c_str(), "r");
    char buf[64] = {};
    if (p && std::fgets(buf, sizeof buf, p)) out = buf;
    if (p) ::pclose(p);
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  int64_t trigger(std::vector<std::string> extra = {}, const std::string& token = "dev-token") {
    std::vector<std::string> args = {"--token", token, "trigger", "--repo", "app"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult t = c.cli(args);
    INFO(t.out);
    REQUIRE(t.exit_code == 0);
    return std::stoll(t.out);
  }
  CliResult as(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), {"--token", token});
    return c.cli(args);
  }
  // The run's change request, once it exists.
  json request_of(int64_t run) {
    for (int i = 0; i < 600; ++i) {
      const json list = c.get_json("/api/v1/approvals")["approvals"];
      for (const auto& a : list) {
        if (a["run"] == run) return a;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL("no change request for run " << run << ": " << c.http("GET", "/api/v1/approvals").body);
    return json();
  }
  std::string id_of(int64_t run) { return request_of(run)["id"]; }
  // Deploys `run` with rita's approval.
  void deploy(int64_t run) {
    std::string id = id_of(run);
    CliResult ok = as("rita-token", {"approve", id});
    INFO(ok.out);
    REQUIRE(ok.exit_code == 0);
    REQUIRE(c.wait_run(run)["status"] == "succeeded");
  }
  std::string production_commit() {
    const json list = c.get_json("/api/v1/releases")["releases"];
    for (const auto& r : list) {
      if (r["environment"] == "production" && r["status"] == "succeeded") return r["commit"];
    }
    return "";
  }
};

bool has_text(const json& list, const std::string& text) {
  for (const auto& item : list) {
    if (item.is_string() && item.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("gmud hole: on a new branch the range is all the history no release shipped") {
  Gate g;
  const std::string& repo = g.repo;
  // Rosa's earlier commit, then a new branch whose head is Nina's.
  Gate::commit_as(repo, "Rosa", "rosa@example.com", "by rosa");
  sh("git -C '" + repo + "' checkout -q -b feature/new");
  Gate::commit_as(repo, "Nina", "nina@example.com", "by nina");
  int64_t run = g.trigger({"--ref", "feature/new"});
  json a = g.request_of(run);
  CHECK(a["range"].size() == 3);  // Tess's first commit, Rosa's, Nina's
  CHECK(a["range_base"] == "");
  CHECK(a["range_unknown"] == "");
  CHECK(has_text(a["blocked_by"], "rosa is ineligible: authored"));
  CliResult rosa = g.as("rosa-token", {"approve", a["id"]});
  CHECK(rosa.exit_code == 1);
  CHECK(rosa.out.find("rosa is ineligible: authored") != std::string::npos);
  CHECK(g.c.wait_stage(run, "Deploy", "waiting")["agent"] == "");
  g.deploy(run);  // rita may
}

TEST_CASE("gmud hole: a range of 201 commits is counted whole, and one past the limit blocks") {
  Gate g;
  const std::string& repo = g.repo;
  int64_t first = g.trigger();
  g.deploy(first);
  std::string base = g.production_commit();
  REQUIRE(!base.empty());
  // Rosa's commit, then 200 by Nina on top: hers is 201 back.
  Gate::commit_as(repo, "Rosa", "rosa@example.com", "by rosa");
  sh("cd '" + repo +
     "' && for i in $(seq 200); do git -c user.name=Nina -c user.email=nina@example.com "
     "commit -q --allow-empty -m n$i || exit 1; done");
  int64_t run = g.trigger();
  json a = g.request_of(run);
  CHECK(a["range_base"] == base);
  CHECK(a["base_release"] == "R-1");
  CHECK(a["range"].size() == 201);
  CHECK(a["range"].back()["author_email"] == "rosa@example.com");
  CHECK(has_text(a["blocked_by"], "rosa is ineligible: authored"));
  CHECK(g.as("rosa-token", {"approve", a["id"]}).exit_code == 1);
  REQUIRE(g.as("rita-token", {"reject", a["id"], "--comment", "too big"}).exit_code == 0);
  REQUIRE(g.c.wait_run(run)["status"] == "failed");

  // 10 001 commits since the release (git fast-import makes them at once):
  // the range is unknown, said so, and nobody's approval opens it.
  std::string script = g.c.dir() + "/import.sh";
  std::ofstream(script) << "n=10001; for i in $(seq $n); do\n"
                           "  echo 'commit refs/heads/main'\n"
                           "  echo 'committer Nina <nina@example.com> 1700000000 +0000'\n"
                           "  echo 'data 2'; echo 'c'\n"
                           "  if [ $i = 1 ]; then echo \"from $(git rev-parse HEAD)\"; fi\n"
                           "  echo\n"
                           "done | git fast-import --quiet && git reset -q --hard main\n";
  sh("cd '" + repo + "' && bash '" + script + "'");
  int64_t huge = g.trigger();
  a = g.request_of(huge);
  CHECK(a["range"].empty());
  std::string unknown = a["range_unknown"];
  CHECK(unknown.find("more than 10000 commits ship since R-1") != std::string::npos);
  CHECK(unknown.find("raise environments.production.gmud.max_range") != std::string::npos);
  CHECK(has_text(a["blocked_by"], "the commit range is unknown"));
  CHECK(g.as("rita-token", {"approve", a["id"]}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  json stage = g.c.wait_stage(huge, "Deploy", "waiting");
  CHECK(stage["agent"] == "");
  CHECK(stage["reason"].get<std::string>().find("the commit range is unknown") !=
        std::string::npos);
  CliResult shown = g.c.cli({"approvals"});
  CHECK(shown.out.find("range unknown") != std::string::npos);
}

TEST_CASE("gmud hole: a newer run supersedes older requests, an older commit never ships") {
  Gate g;
  const std::string& repo = g.repo;
  std::string a_commit = Gate::commit_as(repo, "Nina", "nina@example.com", "A");
  int64_t older = g.trigger();
  std::string older_id = g.id_of(older);
  Gate::commit_as(repo, "Nina", "nina@example.com", "B");
  int64_t newer = g.trigger();
  std::string newer_id = g.id_of(newer);
  // The older run's request is cancelled, naming the newer run; its stage fails.
  json run = g.c.wait_run(older);
  CHECK(run["status"] == "failed");
  std::string reason = stage_of(run, "Deploy")["reason"];
  CHECK(reason == older_id + " was superseded by run " + std::to_string(newer) + " (" + newer_id +
                      "), a newer deploy of app to production");
  g.deploy(newer);
  std::string shipped = g.production_commit();
  // The attack: approving the older request after the newer one deployed.
  CliResult late = g.as("rita-token", {"approve", older_id});
  CHECK(late.exit_code == 1);
  CHECK(late.out.find("cancelled") != std::string::npos);
  CHECK(g.production_commit() == shipped);
  // A run of the older commit itself is refused at its gate.
  int64_t back = g.trigger({"--ref", a_commit});
  run = g.c.wait_run(back);
  CHECK(run["status"] == "failed");
  CHECK(stage_of(run, "Deploy")["reason"].get<std::string>().find(
            "is older than production's current release R-1") != std::string::npos);
  CHECK(g.production_commit() == shipped);
  json audit = g.c.get_json("/api/v1/audit");
  std::string actions;
  for (const auto& e : audit["entries"]) actions += e["action"].get<std::string>() + " ";
  CHECK(actions.find("approval.supersede") != std::string::npos);
  CHECK(g.c.cli({"audit", "verify"}).exit_code == 0);
}

TEST_CASE("gmud hole: a retry by someone else keeps the first trigger ineligible") {
  Gate g;
  // Rosa triggers her own deploy, cancels it; olga retries it.
  int64_t first = g.trigger({}, "rosa-token");
  g.request_of(first);
  CHECK(g.as("rosa-token", {"cancel", std::to_string(first)}).exit_code == 0);
  REQUIRE(g.c.wait_run(first)["status"] == "aborted");
  CliResult retried = g.as("olga-token", {"retry", std::to_string(first)});
  INFO(retried.out);
  REQUIRE(retried.exit_code == 0);
  int64_t second = std::stoll(retried.out);
  json a = g.request_of(second);
  CHECK(a["triggered_by"] == "olga");
  CHECK(g.c.get_json("/api/v1/runs/" + std::to_string(second))["retry_of"] == first);
  REQUIRE(a["instigators"].size() == 1);
  CHECK(a["instigators"][0]["name"] == "rosa");
  CliResult rosa = g.as("rosa-token", {"approve", a["id"]});
  CHECK(rosa.exit_code == 1);
  CHECK(rosa.out.find("rosa is ineligible: triggered run " + std::to_string(first)) !=
        std::string::npos);
  // A retry of the retry: still hers.
  CHECK(g.as("olga-token", {"cancel", std::to_string(second)}).exit_code == 0);
  REQUIRE(g.c.wait_run(second)["status"] == "aborted");
  CliResult again = g.as("olga-token", {"retry", std::to_string(second)});
  REQUIRE(again.exit_code == 0);
  a = g.request_of(std::stoll(again.out));
  CHECK(g.as("rosa-token", {"approve", a["id"]}).exit_code == 1);
  CHECK(g.as("olga-token", {"approve", a["id"]}).exit_code == 1);  // olga lacks approve anyway
}

TEST_CASE("gmud hole: the pusher a webhook names may not approve the push") {
  TempDir tmp;
  std::string bare = tmp.path + "/app.git", work = tmp.path + "/work";
  sh("git init -q -b main '" + work + "'");
  std::ofstream(work + "/Jenkinsfile") << kPipeline;
  sh("cd '" + work +
     "' && git add -A && git -c user.name=Tess -c user.email=t@example.com commit -q -m init && "
     "git clone -q --bare . '" +
     bare + "' && git remote add origin '" + bare + "'");
  Gate g("repositories:\n  - {name: app, url: \"" + bare +
             "\", poll: 0s, branches: [main], webhook_secret: s3cret}\n",
         false);
  // The first fetch is the baseline: no run.
  for (int i = 0; i < 200; ++i) {
    json repos = g.c.get_json("/api/v1/repos")["repos"];
    if (!repos.empty() && repos[0]["heads"].is_object() && !repos[0]["heads"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Rosa pushes Nina's commit; GitHub says who pushed.
  std::string sha = Gate::commit_as(work, "Nina", "nina@example.com", "by nina");
  sh("git -C '" + work + "' push -q origin main");
  json payload = {{"ref", "refs/heads/main"},
                  {"before", std::string(40, '0')},
                  {"after", sha},
                  {"repository", {{"name", "app"}, {"clone_url", bare}}},
                  {"pusher", {{"name", "rosa"}, {"email", "rosa@example.com"}}},
                  {"sender", {{"login", "rosa"}}}};
  std::string body = payload.dump();
  HttpResult hook =
      g.c.http("POST", "/api/v1/hooks/git", body, "",
               {{"X-GitHub-Event", "push"},
                {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex("s3cret", body)}});
  REQUIRE(hook.status == 202);
  int64_t run = 0;
  for (int i = 0; i < 600 && run == 0; ++i) {
    const json runs = g.c.get_json("/api/v1/runs")["runs"];
    for (const auto& r : runs) {
      if (r["commit"] == sha) run = r["id"];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(run != 0);
  json shown = g.c.get_json("/api/v1/runs/" + std::to_string(run));
  REQUIRE(shown["pushers"].size() >= 1);
  CHECK(shown["pushers"][0]["email"] == "rosa@example.com");
  json a = g.request_of(run);
  CHECK(a["triggered_by"] == "");
  REQUIRE(a["instigators"].size() >= 1);
  CHECK(a["instigators"][0]["name"] == "rosa");
  CHECK(has_text(a["blocked_by"], "rosa is ineligible: pushed " + sha.substr(0, 7)));
  CliResult rosa = g.as("rosa-token", {"approve", a["id"]});
  CHECK(rosa.exit_code == 1);
  CHECK(rosa.out.find("rosa is ineligible: pushed") != std::string::npos);
  g.deploy(run);
}

TEST_CASE("gmud: the request shows the run's parameters, a password masked, and binds to them") {
  Gate g;
  int64_t run = g.trigger({"-p", "REGION=us", "-p", "DB_PASSWORD=hunter2"});
  json a = g.request_of(run);
  CHECK(a["run_parameters"]["REGION"] == "us");
  CHECK(a["run_parameters"]["DB_PASSWORD"] == "****");
  CHECK(a.dump().find("hunter2") == std::string::npos);
  CliResult list = g.c.cli({"approvals"});
  CHECK(list.out.find("parameters: DB_PASSWORD=**** REGION=us") != std::string::npos);
  CHECK(list.out.find("hunter2") == std::string::npos);
  // Another run with other parameters gets its own request.
  int64_t other = g.trigger({"-p", "REGION=eu"});
  json b = g.request_of(other);
  CHECK(b["id"] != a["id"]);
  CHECK(b["run_parameters"]["REGION"] == "eu");
  g.deploy(other);
}
