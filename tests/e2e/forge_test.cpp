// Forges (issue 21, docs/forges.md): pull and merge request webhooks start runs of the change
// with Jenkins' CHANGE_* variables, a fork's gets no secret, closing one cancels its waiting
// runs; commit statuses reach a stand-in of GitHub's and GitLab's status APIs
// (tests/support/forge_standin.py), retried through its failures; polling the stand-in's lists of
// open pull and merge requests starts, rebuilds and closes changes. Real controller, agent, git.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "../support/py_server.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* kSecret = "hook-s3cret";

// Runs `cmd` in `dir` as Eve (author and committer), which must succeed; its trimmed stdout.
std::string run_sh(const std::string& dir, const std::string& cmd) {
  CliResult r = shell("cd '" + dir +
                      "' && export GIT_AUTHOR_NAME='Eve Fork' GIT_AUTHOR_EMAIL='eve@example.com' "
                      "GIT_COMMITTER_NAME='Eve Fork' GIT_COMMITTER_EMAIL='eve@example.com' && " +
                      cmd + " 2>&1");
  INFO(cmd << "\n" << r.out);
  REQUIRE(r.exit_code == 0);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

// Commits `files` in the work clone and pushes the commit to `ref` of the bare repository, as a
// forge keeps a change's head (refs/pull/N/head); returns the commit.
std::string push_change(const std::string& work, const std::map<std::string, std::string>& files,
                        const std::string& ref) {
  for (const auto& [name, content] : files) std::ofstream(fs::path(work) / name) << content;
  run_sh(work, "git add -A && git commit -qm 'change for " + ref + "'");
  run_sh(work, "git push -q -f origin HEAD:" + ref);
  return run_sh(work, "git rev-parse HEAD");
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

json github_pull(const std::string& action, int number, const std::string& sha,
                 const std::string& head_repo, const std::string& url) {
  return {{"action", action},
          {"number", number},
          {"pull_request",
           {{"number", number},
            {"html_url", "https://github.com/team/app/pull/" + std::to_string(number)},
            {"title", "Faster startup"},
            {"user", {{"login", "eve"}}},
            {"head", {{"ref", "feature"}, {"sha", sha}, {"repo", {{"full_name", head_repo}}}}},
            {"base", {{"ref", "main"}, {"repo", {{"full_name", "team/app"}}}}}}},
          {"repository", {{"name", "app"}, {"full_name", "team/app"}, {"clone_url", url}}},
          {"sender", {{"login", "eve"}}}};
}

HttpResult post_github(Cluster& c, const json& payload) {
  const std::string body = payload.dump();
  return c.http("POST", "/api/v1/hooks/git", body, "",
                {{"X-GitHub-Event", "pull_request"},
                 {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(kSecret, body)}});
}

int64_t run_of(Cluster& c, const std::string& job) {
  int64_t id = 0;
  REQUIRE(eventually([&] {
    for (const auto& r : c.get_json("/api/v1/runs?limit=200").value("runs", json::array())) {
      if (r.value("job", "") == job) id = r["id"].get<int64_t>();
    }
    return id != 0;
  }));
  return id;
}

std::string stage_status(const json& run, const std::string& name) {
  for (const auto& s : run["stages"]) {
    if (s.value("name", "") == name) return s.value("status", "");
  }
  return "(none)";
}

const char* kChangePipeline = R"(pipeline {
  agent any
  stages {
    stage('Env') {
      steps {
        sh 'echo "id=$CHANGE_ID target=$CHANGE_TARGET branch=$CHANGE_BRANCH fork=[$CHANGE_FORK] author=$CHANGE_AUTHOR bn=$BRANCH_NAME title=$CHANGE_TITLE url=$CHANGE_URL"'
      }
    }
    stage('For main') {
      when { changeRequest target: 'main' }
      steps { echo 'a change for main' }
    }
    stage('Other branches') {
      when { changeRequest branch: 'hotfix-*', comparator: 'GLOB' }
      steps { echo 'never' }
    }
    stage('Secret') {
      steps {
        withCredentials([string(credentialsId: 'deploy-token', variable: 'T')]) {
          sh 'echo "token length ${#T}"'
        }
      }
    }
  }
}
)";

const char* kInputPipeline = R"(pipeline {
  agent any
  stages {
    stage('Ask') {
      input { message 'Ship it?' }
      steps { echo 'shipped' }
    }
  }
}
)";

}  // namespace

TEST_CASE(
    "a pull request webhook runs the change with its CHANGE_ variables and a fork's gets no "
    "secret") {
  TempDir t;
  const std::string bare = t.path + "/app.git", work = t.path + "/work";
  fs::create_directories(work);
  run_sh(work, "git init -q -b main && git commit -q --allow-empty -m init");
  run_sh(work, "git clone -q --bare . '" + bare + "' && git remote add origin '" + bare + "'");
  const std::string url = "file://" + bare;
  Cluster c(std::string("repositories:\n  - name: app\n    url: ") + url +
            "\n    branches: [main]\n    poll: 0s\n    webhook_secret: " + kSecret +
            "\nsecrets:\n  deploy-token: {value: abcdef}\n");
  c.start_controller();
  c.start_agent({.name = "a1"});

  // A change from a branch of the repository itself: CHANGE_*, `when { changeRequest }`, secrets.
  const std::string head =
      push_change(work, {{"Jenkinsfile", kChangePipeline}}, "refs/pull/7/head");
  HttpResult r = post_github(c, github_pull("opened", 7, head, "team/app", url));
  REQUIRE(r.status == 202);
  json run = c.wait_run(run_of(c, "app/PR-7"));
  CHECK(run["status"] == "succeeded");
  CHECK(run["commit"] == head);
  CHECK(run["trigger"] == "change_request");
  CHECK(run["change_request"]["id"] == "7");
  CHECK(run["change_request"]["target"] == "main");
  const std::string env = c.stage_log(run["id"].get<int64_t>(), "Env");
  CHECK(env.find("id=7 target=main branch=feature fork=[] author=eve bn=PR-7 title=Faster "
                 "startup url=https://github.com/team/app/pull/7") != std::string::npos);
  CHECK(stage_status(run, "For main") == "succeeded");
  CHECK(stage_status(run, "Other branches") == "skipped");
  CHECK(c.stage_log(run["id"].get<int64_t>(), "Secret").find("token length 6") !=
        std::string::npos);

  // The same pipeline from a fork: its run reads no secret.
  const std::string forked = push_change(work, {{"README", "fork\n"}}, "refs/pull/8/head");
  REQUIRE(post_github(c, github_pull("synchronize", 8, forked, "eve/app", url)).status == 202);
  json fork_run = c.wait_run(run_of(c, "app/PR-8"));
  CHECK(fork_run["status"] == "failed");
  CHECK(fork_run["change_request"]["fork"] == "eve/app");
  CHECK(stage_status(fork_run, "Env") == "succeeded");
  CHECK(stage_status(fork_run, "Secret") == "failed");
  json shown = c.get_json("/api/v1/runs/" + std::to_string(fork_run["id"].get<int64_t>()));
  CHECK(shown.dump().find("not given to a change request from a fork (eve/app)") !=
        std::string::npos);

  // Actions that change no commit build nothing; a bad signature is refused.
  HttpResult labeled = post_github(c, github_pull("labeled", 7, head, "team/app", url));
  CHECK(labeled.status == 200);
  CHECK(labeled.body.find("ignored") != std::string::npos);
  const std::string body = github_pull("opened", 7, head, "team/app", url).dump();
  CHECK(c.http("POST", "/api/v1/hooks/git", body, "",
               {{"X-GitHub-Event", "pull_request"},
                {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex("wrong", body)}})
            .status == 401);

  // A change waiting for input is cancelled when the pull request is closed.
  const std::string asking =
      push_change(work, {{"Jenkinsfile", kInputPipeline}}, "refs/pull/9/head");
  REQUIRE(post_github(c, github_pull("opened", 9, asking, "team/app", url)).status == 202);
  const int64_t waiting = run_of(c, "app/PR-9");
  c.wait_stage(waiting, "Ask", "waiting");
  HttpResult closed = post_github(c, github_pull("closed", 9, asking, "team/app", url));
  CHECK(closed.status == 200);
  CHECK(closed.body.find(std::to_string(waiting)) != std::string::npos);
  CHECK(c.wait_run(waiting)["status"] == "aborted");

  // GitLab's merge request hook: MR-3, its author's e-mail from the payload.
  const std::string mr =
      push_change(work, {{"Jenkinsfile", kChangePipeline}}, "refs/merge-requests/3/head");
  json gl = {{"object_kind", "merge_request"},
             {"user", {{"name", "Eve"}, {"username", "eve"}, {"email", "eve@example.com"}}},
             {"project", {{"name", "app"}, {"git_http_url", url}}},
             {"object_attributes",
              {{"iid", 3},
               {"title", "Faster startup"},
               {"url", "https://gitlab.example.com/team/app/-/merge_requests/3"},
               {"source_branch", "feature"},
               {"target_branch", "main"},
               {"source_project_id", 1},
               {"target_project_id", 1},
               {"last_commit", {{"id", mr}}},
               {"action", "open"}}}};
  REQUIRE(c.http("POST", "/api/v1/hooks/git", gl.dump(), "",
                 {{"X-Gitlab-Event", "Merge Request Hook"}, {"X-Gitlab-Token", kSecret}})
              .status == 202);
  json mr_run = c.wait_run(run_of(c, "app/MR-3"));
  CHECK(mr_run["status"] == "succeeded");
  CHECK(c.stage_log(mr_run["id"].get<int64_t>(), "Env").find("id=3 target=main") !=
        std::string::npos);
  CHECK(c.stage_log(mr_run["id"].get<int64_t>(), "Env").find("bn=MR-3") != std::string::npos);
}

namespace {

// The stand-in forge (tests/support/forge_standin.py), on a free loopback port.
struct ForgeStandIn {
  explicit ForgeStandIn(int fail_first)
      : server("forge_standin.py", "forge",
               {"--token", "forge-t0ken", "--fail-first", std::to_string(fail_first),
                "--max-seconds", "240"}),
        port(server.port()) {}
  std::vector<json> received() const {
    std::vector<json> out;
    std::istringstream in(server.read("requests.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
  }
  // The last state a status of `context` on `commit` was given, as the forge accepted it.
  std::string last_state(const std::string& path_part, const std::string& commit,
                         const std::string& context) const {
    std::string state;
    for (const json& r : received()) {
      const std::string path = r["path"];
      if (r["status"] != 201 || path.find(path_part) == std::string::npos ||
          !path.ends_with(commit))
        continue;
      json body = json::parse(r["body"].get<std::string>());
      if (body.value("context", body.value("name", "")) == context) state = body["state"];
    }
    return state;
  }
  gantry::test::PyServer server;
  int port = 0;
};

}  // namespace

TEST_CASE("commit statuses reach GitHub and GitLab shaped APIs and survive the forge's failures") {
  TempDir t;
  ForgeStandIn forge(2);
  const std::string api = "http://127.0.0.1:" + std::to_string(forge.port);
  const std::string work = t.path + "/work", bare = t.path + "/app.git";
  fs::create_directories(work);
  run_sh(work, "git init -q -b main");
  std::ofstream(work + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'test -z "$FAIL"' } }
  }
}
)";
  run_sh(work, "git add -A && git commit -qm init");
  run_sh(work, "git clone -q --bare . '" + bare + "' && git remote add origin '" + bare + "'");
  const std::string url = "file://" + bare;
  auto repo = [&](const std::string& name, const std::string& forge_map) {
    return "  - name: " + name + "\n    url: " + url + "\n    branches: [main]\n    poll: 0s\n" +
           "    forge: " + forge_map + "\n";
  };
  Cluster c("repositories:\n" +
            repo("app", "{type: github, api: " + api +
                            ", project: team/app, token: forge-token, stages: true}") +
            repo("app-gl", "{type: gitlab, api: " + api +
                               ", project: team/app, token: forge-token, context: ci/gantry}") +
            repo("app-moved",
                 "{type: github, api: " + api + ", project: team/gone, token: forge-token}") +
            "secrets:\n  forge-token: {value: forge-t0ken}\n");
  c.start_controller();
  c.start_agent({.name = "a1"});
  REQUIRE(eventually([&] {
    const json repos = c.get_json("/api/v1/repos");
    for (const auto& r : repos["repos"]) {
      if (r["heads"].empty()) return false;
    }
    return true;
  }));
  const std::string head = run_sh(work, "git rev-parse HEAD");

  // GitHub: pending, then success, on the run and on its stage, through two 502s.
  json ok = c.wait_run(c.trigger("app"));
  CHECK(ok["status"] == "succeeded");
  REQUIRE(eventually(
      [&] { return forge.last_state("/repos/team/app/", head, "gantry") == "success"; }));
  CHECK(eventually(
      [&] { return forge.last_state("/repos/team/app/", head, "gantry/Build") == "success"; }));
  bool pending = false, linked = false, bearer = true;
  for (const json& r : forge.received()) {
    if (r["path"].get<std::string>().find("/repos/team/app/") == std::string::npos) continue;
    json body = json::parse(r["body"].get<std::string>());
    // Sent at least: the forge's first answers are 502, and a retry is dropped once a newer
    // state of the same status is queued.
    pending = pending || body["state"] == "pending";
    linked = linked || body["target_url"].get<std::string>().ends_with(
                           "/#/runs/" + std::to_string(ok["id"].get<int64_t>()));
    bearer = bearer && r["authorization"] == "Bearer forge-t0ken";
  }
  CHECK(pending);
  CHECK(linked);
  CHECK(bearer);

  // A failing commit: failure. GitLab's shape: PRIVATE-TOKEN, "failed", its own context name.
  run_sh(work,
         "sed -i 's/test -z \"$FAIL\"/exit 3/' Jenkinsfile && git commit -qam broken && "
         "git push -q origin main");
  const std::string broken = run_sh(work, "git rev-parse HEAD");
  json failed = c.wait_run(c.trigger("app-gl"));
  CHECK(failed["status"] == "failed");
  CHECK(failed["commit"] == broken);
  CHECK(eventually(
      [&] { return forge.last_state("/projects/team%2Fapp/", broken, "ci/gantry") == "failed"; }));
  bool private_token = false;
  for (const json& r : forge.received()) private_token |= r["private_token"] == "forge-t0ken";
  CHECK(private_token);

  // A refusal (an unknown project) is not retried forever, shows on the repository, and the run
  // is untouched.
  CHECK(c.wait_run(c.trigger("app-moved"))["status"] == "failed");
  json moved;
  REQUIRE(eventually([&] {
    const json repos = c.get_json("/api/v1/repos");
    for (const auto& r : repos["repos"]) {
      if (r["name"] == "app-moved") moved = r;
    }
    return moved.contains("statuses") && moved["statuses"]["failed"].get<int>() >= 1;
  }));
  CHECK(moved["statuses"]["last_error"].get<std::string>().find("github answered 404") !=
        std::string::npos);
  CHECK(moved["statuses"]["sent"] == 0);
  HttpResult metrics = c.http("GET", "/metrics");
  CHECK(metrics.body.find("gantry_commit_statuses_total{repo=\"app\",outcome=\"retried\"}") !=
        std::string::npos);
}

namespace {

const char* kPolledPipeline = R"(pipeline {
  agent any
  stages {
    stage('Env') {
      steps {
        sh 'echo "id=$CHANGE_ID target=$CHANGE_TARGET branch=$CHANGE_BRANCH fork=[$CHANGE_FORK] author=$CHANGE_AUTHOR bn=$BRANCH_NAME url=$CHANGE_URL"'
      }
    }
  }
}
)";

// A pull request as GitHub's list shows it (the fields Gantry reads, and a few it does not).
json listed_pull(int number, const std::string& sha) {
  const std::string n = std::to_string(number);
  return {{"number", number},
          {"state", "open"},
          {"html_url", "https://github.com/team/app/pull/" + n},
          {"title", "Change " + n},
          {"user", {{"login", "eve"}, {"id", 7}}},
          {"head", {{"ref", "feature-" + n}, {"sha", sha}, {"repo", {{"full_name", "team/app"}}}}},
          {"base", {{"ref", "main"}, {"repo", {{"full_name", "team/app"}}}}}};
}

// The list the stand-in answers, replaced at once (written beside it, then renamed).
void set_list(const ForgeStandIn& forge, const std::string& file, const json& list) {
  const fs::path tmp = forge.server.dir() / (file + ".tmp");
  std::ofstream(tmp) << list.dump();
  fs::rename(tmp, forge.server.dir() / file);
}

// The runs of `job`, oldest first.
std::vector<json> runs_of(Cluster& c, const std::string& job) {
  std::vector<json> out;
  for (const auto& r : c.get_json("/api/v1/runs?limit=200").value("runs", json::array())) {
    if (r.value("job", "") == job) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return out;
}

json repo_status(Cluster& c, const std::string& name) {
  const json repos = c.get_json("/api/v1/repos");
  for (const auto& r : repos.value("repos", json::array())) {
    if (r["name"] == name) return r;
  }
  return json::object();
}

}  // namespace

TEST_CASE("polling the forge's API discovers pull and merge requests") {
  TempDir t;
  ForgeStandIn forge(0);
  const std::string api = "http://127.0.0.1:" + std::to_string(forge.port);
  const std::string bare = t.path + "/app.git", work = t.path + "/work";
  fs::create_directories(work);
  run_sh(work, "git init -q -b main && git commit -q --allow-empty -m init");
  run_sh(work, "git clone -q --bare . '" + bare + "' && git remote add origin '" + bare + "'");
  const std::string url = "file://" + bare;
  // Open before the controller first polls: recorded, not built (as a new repository's branches).
  const std::string old = push_change(work, {{"Jenkinsfile", kPolledPipeline}}, "refs/pull/5/head");
  set_list(forge, "pulls.json", json::array({listed_pull(5, old)}));
  auto repo = [&](const std::string& name, const std::string& type) {
    return "  - name: " + name + "\n    url: " + url +
           "\n    branches: [main]\n    poll: 1s\n    webhook_secret: " + kSecret +
           "\n    forge: {type: " + type + ", api: " + api +
           ", project: team/app, token: forge-token}\n";
  };
  Cluster c("repositories:\n" + repo("app", "github") + repo("app-gl", "gitlab") +
            "secrets:\n  forge-token: {value: forge-t0ken}\n");
  c.start_controller();
  c.start_agent({.name = "a1"});
  REQUIRE(eventually([&] {
    const json app = repo_status(c, "app"), gl = repo_status(c, "app-gl");
    return app.contains("change_requests") && app["change_requests"]["open"] == 1 &&
           gl.contains("change_requests") && gl["change_requests"]["open"] == 0;
  }));

  // A new pull request in the list: a run of its head, with the CHANGE_ variables.
  const std::string head = push_change(work, {{"README", "seven\n"}}, "refs/pull/7/head");
  set_list(forge, "pulls.json", json::array({listed_pull(5, old), listed_pull(7, head)}));
  json run = c.wait_run(run_of(c, "app/PR-7"));
  CHECK(run["status"] == "succeeded");
  CHECK(run["commit"] == head);
  CHECK(run["trigger"] == "change_request");
  CHECK(c.stage_log(run["id"].get<int64_t>(), "Env")
            .find("id=7 target=main branch=feature-7 fork=[] author=eve bn=PR-7 "
                  "url=https://github.com/team/app/pull/7") != std::string::npos);
  CHECK(runs_of(c, "app/PR-5").empty());
  // The webhook of the same head builds nothing more (both repositories have its URL: ?repo=).
  const std::string same = github_pull("synchronize", 7, head, "team/app", url).dump();
  HttpResult again = c.http("POST", "/api/v1/hooks/git?repo=app", same, "",
                            {{"X-GitHub-Event", "pull_request"},
                             {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(kSecret, same)}});
  CHECK(again.status == 200);
  CHECK(again.body.find("already built") != std::string::npos);
  bool bearer = false;
  std::istringstream lists(forge.server.read("lists.jsonl"));
  for (std::string line; std::getline(lists, line);) {
    const json r = json::parse(line);
    bearer |= r["path"] == "/repos/team/app/pulls" && r["authorization"] == "Bearer forge-t0ken" &&
              r["query"] == "state=open&per_page=100";
  }
  CHECK(bearer);

  // A new head: a new run. The first one's head is not built again.
  const std::string moved = push_change(work, {{"README", "seven again\n"}}, "refs/pull/7/head");
  set_list(forge, "pulls.json", json::array({listed_pull(5, old), listed_pull(7, moved)}));
  REQUIRE(eventually([&] { return runs_of(c, "app/PR-7").size() == 2; }));
  CHECK(c.wait_run(runs_of(c, "app/PR-7")[1]["id"].get<int64_t>())["commit"] == moved);

  // A pull request gone from the list is closed: its run waiting for input is cancelled.
  const std::string asking =
      push_change(work, {{"Jenkinsfile", kInputPipeline}}, "refs/pull/9/head");
  set_list(forge, "pulls.json",
           json::array({listed_pull(5, old), listed_pull(7, moved), listed_pull(9, asking)}));
  const int64_t waiting = run_of(c, "app/PR-9");
  c.wait_stage(waiting, "Ask", "waiting");
  set_list(forge, "pulls.json", json::array({listed_pull(5, old), listed_pull(7, moved)}));
  CHECK(c.wait_run(waiting)["status"] == "aborted");

  // The forge failing shows on the repository, and polling goes on.
  std::ofstream(forge.server.dir() / "list_status") << "500";
  REQUIRE(eventually([&] {
    return repo_status(c, "app")["change_requests"]["last_error"].get<std::string>().find(
               "github answered 500") != std::string::npos;
  }));
  fs::remove(forge.server.dir() / "list_status");
  REQUIRE(eventually([&] { return repo_status(c, "app")["change_requests"]["last_error"] == ""; }));
  CHECK(runs_of(c, "app/PR-7").size() == 2);
  CHECK(runs_of(c, "app/PR-9").size() == 1);

  // GitLab: a merge request from a fork (another source project), as MR-3.
  const std::string mr =
      push_change(work, {{"Jenkinsfile", kPolledPipeline}}, "refs/merge-requests/3/head");
  const json listed_mr = {{"iid", 3},
                          {"state", "opened"},
                          {"web_url", "https://gitlab.example.com/team/app/-/merge_requests/3"},
                          {"title", "Faster startup"},
                          {"author", {{"username", "eve"}, {"name", "Eve Fork"}}},
                          {"sha", mr},
                          {"source_branch", "feature"},
                          {"target_branch", "main"},
                          {"source_project_id", 2},
                          {"target_project_id", 1}};
  set_list(forge, "merge_requests.json", json::array({listed_mr}));
  json mr_run = c.wait_run(run_of(c, "app-gl/MR-3"));
  CHECK(mr_run["status"] == "succeeded");
  CHECK(mr_run["commit"] == mr);
  CHECK(mr_run["change_request"]["fork"] == "project 2");
  CHECK(c.stage_log(mr_run["id"].get<int64_t>(), "Env").find("id=3 target=main") !=
        std::string::npos);
}
