// Git triggers through real daemons: repositories on disk and behind a real
// `git daemon` on 127.0.0.1, commits made with the git CLI, webhooks signed
// as GitHub signs them. Each case starts its own controller and agent.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "../git_daemon_path.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
namespace fs = std::filesystem;

namespace {

const char* kSecret = "hook-s3cret";

// Runs a shell command in `dir` with a fixed author and committer; returns
// its trimmed stdout.
std::string sh(const std::string& dir, const std::string& cmd,
               const std::string& author = "Ana Lima <ana@example.com>") {
  auto name = author.substr(0, author.find(" <"));
  auto email = author.substr(author.find('<') + 1, author.find('>') - author.find('<') - 1);
  std::string full =
      "cd '" + dir + "' && export GIT_AUTHOR_NAME='" + name + "' GIT_AUTHOR_EMAIL='" + email +
      "' GIT_COMMITTER_NAME='Carl Reis' GIT_COMMITTER_EMAIL='carl@example.com' && " + cmd;
  std::string out;
  FILE* p = ::popen(full.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(::pclose(p) == 0);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string commit(const std::string& dir, const std::map<std::string, std::string>& files,
                   const std::string& message,
                   const std::string& author = "Ana Lima <ana@example.com>") {
  for (const auto& [name, content] : files) {
    fs::path p = fs::path(dir) / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  }
  sh(dir, "git add -A && git commit -qm '" + message + "'", author);
  return sh(dir, "git rev-parse HEAD");
}

// A bare repository (what the controller watches) and a work clone that
// commits and pushes to it, as a team would; made before the cluster so the
// controller's config can name it.
struct Repo {
  std::string work, bare;
  void push(const std::string& what = "main") { sh(work, "git push -q -f origin " + what); }
};

Repo init_repo(const std::string& bare, const std::map<std::string, std::string>& files) {
  Repo r{bare + ".work", bare};
  fs::create_directories(r.work);
  sh(r.work, "git init -q -b main");
  commit(r.work, files, "init", "Tess <t@example.com>");
  sh(r.work, "git clone -q --bare . '" + bare + "' && git remote add origin '" + bare + "'");
  return r;
}

std::string config_for(const std::string& url, const std::string& poll,
                       const std::string& extra = "") {
  return "repositories:\n"
         "  - name: app\n"
         "    url: " +
         url +
         "\n"
         "    branches: [main, \"feature/*\"]\n"
         "    tags: [\"v*\"]\n"
         "    poll: " +
         poll +
         "\n"
         "    webhook_secret: " +
         kSecret + "\n" + extra;
}

bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

std::vector<json> runs_of(Cluster& c, const std::string& job) {
  std::vector<json> out;
  json list = c.get_json("/api/v1/runs?limit=200");
  for (const auto& r : list.value("runs", json::array())) {
    if (r.value("job", "") == job) out.push_back(r);
  }
  std::reverse(out.begin(), out.end());  // oldest first
  return out;
}

json repo_status(Cluster& c) {
  json j = c.get_json("/api/v1/repos");
  for (const auto& r : j.value("repos", json::array())) {
    if (r.value("name", "") == "app") return r;
  }
  return json();
}

// Waits until the controller has fetched the repository once (its heads
// are the baseline pushes are compared with).
void wait_baseline(Cluster& c) {
  REQUIRE(eventually([&] {
    json r = repo_status(c);
    return r.is_object() && r["heads"].is_object() && !r["heads"].empty();
  }));
}

std::string github_push(const std::string& url, const std::string& ref, const std::string& after) {
  json j = {{"ref", ref},
            {"before", std::string(40, '0')},
            {"after", after},
            {"deleted", false},
            {"repository",
             {{"name", "app"}, {"full_name", "team/app"}, {"clone_url", url}, {"html_url", url}}}};
  return j.dump();
}

HttpResult post_hook(Cluster& c, const std::string& body, const std::string& signature,
                     const std::string& path = "/api/v1/hooks/git") {
  std::vector<std::pair<std::string, std::string>> headers = {{"X-GitHub-Event", "push"}};
  if (!signature.empty()) headers.push_back({"X-Hub-Signature-256", signature});
  return c.http("POST", path, body, "", headers);
}

// A real `git daemon` serving `base` on 127.0.0.1:port.
struct GitDaemon {
  GitDaemon(std::string base, uint16_t port, std::string log)
      : base_(std::move(base)), port_(port), log_(std::move(log)) {
    start();
  }
  void start() {
    REQUIRE(child_.start(
        {gantry::testing::git_daemon_path(), "--reuseaddr", "--export-all", "--base-path=" + base_,
         "--listen=127.0.0.1", "--port=" + std::to_string(port_), base_},
        log_));
    // Bounded wait until it accepts.
    REQUIRE(eventually(
        [&] {
          int fd = ::socket(AF_INET, SOCK_STREAM, 0);
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          a.sin_port = htons(port_);
          bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
          ::close(fd);
          return ok;
        },
        std::chrono::seconds(10)));
  }
  void stop() {
    child_.signal(SIGTERM);
    child_.wait(std::chrono::seconds(5));
  }
  std::string base_;
  uint16_t port_;
  std::string log_;
  Child child_;
};

const char* kEnvPipeline = R"(pipeline {
  agent any
  stages {
    stage('Env') {
      steps {
        sh 'echo "branch=$BRANCH_NAME gitbranch=$GIT_BRANCH commit=$GIT_COMMIT"'
        sh 'echo "author=$CHANGE_AUTHOR email=$CHANGE_AUTHOR_EMAIL prevok=$GIT_PREVIOUS_SUCCESSFUL_COMMIT"'
      }
    }
  }
}
)";

}  // namespace

TEST_CASE("a commit to a file:// repository starts a run within a poll interval") {
  TempDir t;
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", kEnvPipeline}});
  std::string first = sh(repo.work, "git rev-parse HEAD");
  Cluster c(config_for("file://" + repo.bare, "300ms"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);
  // The first sight of a repository is a baseline, not a push.
  CHECK(runs_of(c, "app/main").empty());

  std::string second = commit(repo.work, {{"src/a.c", "int a;\n"}}, "add a");
  std::string third =
      commit(repo.work, {{"docs/readme.md", "hi\n"}}, "docs", "Bia Souza <bia@example.com>");
  repo.push();
  std::vector<json> runs;
  REQUIRE(eventually([&] { return !(runs = runs_of(c, "app/main")).empty(); }));
  json run = c.wait_run(runs[0]["id"].get<int64_t>());
  CHECK(run["status"] == "succeeded");
  CHECK(run["commit"] == third);
  CHECK(run["ref"] == "refs/heads/main");
  CHECK(run["trigger"] == "push");
  CHECK(run["author"] == "Bia Souza");
  CHECK(run["author_email"] == "bia@example.com");
  // The range: both new commits, newest first, with their people.
  REQUIRE(run["changes"].size() == 2);
  CHECK(run["changes"][0]["sha"] == third);
  CHECK(run["changes"][0]["committer"] == "Carl Reis");
  CHECK(run["changes"][0]["committer_email"] == "carl@example.com");
  CHECK(run["changes"][1]["sha"] == second);
  CHECK(run["changes"][1]["author"] == "Ana Lima");
  CHECK(run["changes"][1]["paths"] == json::array({"src/a.c"}));
  CHECK(run["previous_commit"] == first);
  std::string log = c.stage_log(run["id"].get<int64_t>(), "Env");
  CHECK(log.find("branch=main gitbranch=main commit=" + third) != std::string::npos);
  CHECK(log.find("author=Bia Souza email=bia@example.com prevok=\n") != std::string::npos);

  // The next push counts from this run; the last success is known.
  std::string fourth = commit(repo.work, {{"src/b.c", "int b;\n"}}, "add b");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 2; }));
  json next = c.wait_run(runs_of(c, "app/main")[1]["id"].get<int64_t>());
  CHECK(next["commit"] == fourth);
  REQUIRE(next["changes"].size() == 1);
  CHECK(next["previous_successful_commit"] == third);
  CHECK(c.stage_log(next["id"].get<int64_t>(), "Env").find("prevok=" + third) != std::string::npos);

  // A branch that is not watched starts nothing; a deleted watched branch
  // and a force-push are handled without error.
  sh(repo.work, "git commit -q --allow-empty -m wip && git push -q origin HEAD:refs/heads/scratch");
  sh(repo.work, "git push -q origin HEAD:refs/heads/feature/x");
  REQUIRE(eventually([&] { return runs_of(c, "app/feature/x").size() == 1; }));
  repo.push(":feature/x");
  REQUIRE(eventually([&] { return !repo_status(c)["heads"].contains("refs/heads/feature/x"); }));
  sh(repo.work, "git reset -q --hard HEAD~2");
  std::string rewritten = commit(repo.work, {{"src/c.c", "int c;\n"}}, "rewrite");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 3; }));
  json forced = c.wait_run(runs_of(c, "app/main")[2]["id"].get<int64_t>());
  CHECK(forced["commit"] == rewritten);
  CHECK(forced["status"] == "succeeded");
  CHECK(runs_of(c, "app/scratch").empty());
  CHECK(repo_status(c)["last_error"] == "");
  CliResult repos = c.cli({"repos"});
  CHECK(repos.exit_code == 0);
  CHECK(repos.out.find("refs/heads/main") != std::string::npos);
  CHECK(repos.out.find(rewritten.substr(0, 12)) != std::string::npos);
}

TEST_CASE("git://: runs start from a real git daemon, its outage shows and polling resumes") {
  TempDir t;
  Repo repo = init_repo(t.path + "/srv/app", {{"Jenkinsfile", kEnvPipeline}});
  uint16_t port = free_port();
  GitDaemon daemon(t.path + "/srv", port, t.path + "/daemon.log");
  Cluster c(config_for("git://127.0.0.1:" + std::to_string(port) + "/app", "300ms"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);
  std::string head = commit(repo.work, {{"src/a.c", "int a;\n"}}, "over git://");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 1; }));
  json run = c.wait_run(runs_of(c, "app/main")[0]["id"].get<int64_t>());
  CHECK(run["status"] == "succeeded");
  CHECK(run["commit"] == head);
  CHECK(run["author"] == "Ana Lima");

  // The remote goes away: the error shows, the controller keeps serving.
  daemon.stop();
  REQUIRE(eventually([&] { return repo_status(c)["last_error"] != ""; }));
  json down = repo_status(c);
  CHECK(down["failures"].get<int>() >= 1);
  CHECK(down["last_error"].get<std::string>().find("fetch git://127.0.0.1") == 0);
  CliResult shown = c.cli({"repos"});
  CHECK(shown.out.find("error (") != std::string::npos);
  CHECK(c.http("GET", "/healthz").status == 200);
  std::string metrics = c.http("GET", "/metrics").body;
  CHECK(metrics.find("gantry_repo_fetch_failures{repo=\"app\"} ") != std::string::npos);
  CHECK(metrics.find("gantry_repo_fetch_failures{repo=\"app\"} 0\n") == std::string::npos);
  // It comes back: polling resumes (with backoff) and the next push runs.
  daemon.start();
  std::string later = commit(repo.work, {{"src/b.c", "int b;\n"}}, "after the outage");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 2; }, std::chrono::seconds(45)));
  CHECK(c.wait_run(runs_of(c, "app/main")[1]["id"].get<int64_t>())["commit"] == later);
  CHECK(repo_status(c)["last_error"] == "");
  CHECK(repo_status(c)["failures"] == 0);
}

TEST_CASE("a signed webhook starts a run at once, bad ones start nothing") {
  TempDir t;
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", kEnvPipeline}});
  // No polling after the first fetch: only webhooks move it.
  Cluster c(config_for("file://" + repo.bare, "0s"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);
  std::string head = commit(repo.work, {{"src/a.c", "int a;\n"}}, "hooked");
  repo.push();
  std::string body = github_push("file://" + repo.bare, "refs/heads/main", head);
  std::string good = "sha256=" + hmac_sha256_hex(kSecret, body);

  // A bad signature, the same body with one byte changed, no signature, a
  // malformed payload and an unknown repository: refused, nothing starts.
  CHECK(post_hook(c, body, "sha256=" + hmac_sha256_hex("wrong", body)).status == 401);
  std::string tampered = body;
  tampered[tampered.find("main")] = 'M';
  CHECK(post_hook(c, tampered, good).status == 401);
  CHECK(post_hook(c, body, "").status == 401);
  CHECK(post_hook(c, "{not json", good).status == 400);
  std::string other = github_push("file:///nowhere/else.git", "refs/heads/main", head);
  CHECK(post_hook(c, other, "sha256=" + hmac_sha256_hex(kSecret, other)).status == 404);
  // Unsigned requests cannot flood the audit log: 30 entries a minute.
  for (int i = 0; i < 40; ++i) CHECK(post_hook(c, body, "sha256=00").status == 401);
  json audit = c.get_json("/api/v1/audit?limit=5000");
  int refused = 0;
  for (const auto& e : audit["entries"]) refused += e["action"] == "webhook.refused" ? 1 : 0;
  CHECK(refused == 30);
  CHECK(c.cli({"audit", "verify"}).exit_code == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(runs_of(c, "app/main").empty());

  HttpResult ok = post_hook(c, body, good);
  CHECK(ok.status == 202);
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 1; }, std::chrono::seconds(10)));
  json run = c.wait_run(runs_of(c, "app/main")[0]["id"].get<int64_t>());
  CHECK(run["commit"] == head);
  CHECK(run["status"] == "succeeded");
  // GitLab's form: the token header, and ?repo= naming the repository.
  std::string again = commit(repo.work, {{"src/b.c", "int b;\n"}}, "gitlab");
  repo.push();
  HttpResult gl =
      c.http("POST", "/api/v1/hooks/git?repo=app",
             json({{"object_kind", "push"},
                   {"ref", "refs/heads/main"},
                   {"after", again},
                   {"project", {{"name", "app"}, {"git_http_url", "file://" + repo.bare}}}})
                 .dump(),
             "", {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Token", kSecret}});
  CHECK(gl.status == 202);
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 2; }, std::chrono::seconds(10)));
}

TEST_CASE("quick pushes coalesce, disableConcurrentBuilds queues, a bad commit fails with lint") {
  TempDir t;
  const char* slow = R"(pipeline {
  agent any
  options { disableConcurrentBuilds() }
  stages {
    stage('Slow') { steps { sh 'sleep 2' } }
  }
}
)";
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", slow}});
  Cluster c(config_for("file://" + repo.bare, "0s"));
  c.start_controller();
  c.start_agent({.name = "a1", .executors = 2});
  wait_baseline(c);
  auto push = [&](const std::string& file) {
    std::string head = commit(repo.work, {{file, file + "\n"}}, "change " + file);
    repo.push();
    std::string body = github_push("file://" + repo.bare, "refs/heads/main", head);
    REQUIRE(post_hook(c, body, "sha256=" + hmac_sha256_hex(kSecret, body)).status == 202);
    return head;
  };
  std::string first = push("one");
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 1; }));
  int64_t run1 = runs_of(c, "app/main")[0]["id"].get<int64_t>();
  c.wait_stage(run1, "Slow", "running");
  std::vector<std::string> heads;
  for (const char* f : {"two", "three", "four", "five"}) heads.push_back(push(f));
  // One more run, of the newest head, waiting for the first (two executors
  // free would otherwise run it at once).
  REQUIRE(eventually([&] {
    auto runs = runs_of(c, "app/main");
    return runs.size() == 2 && runs[1]["commit"] == heads.back();
  }));
  int64_t run2 = runs_of(c, "app/main")[1]["id"].get<int64_t>();
  json waiting = c.get_json("/api/v1/runs/" + std::to_string(run2));
  CHECK(waiting["status"] == "queued");
  json done1 = c.wait_run(run1);
  json done2 = c.wait_run(run2);
  CHECK(done1["status"] == "succeeded");
  CHECK(done2["status"] == "succeeded");
  CHECK(done2["started_at"].get<int64_t>() >= done1["finished_at"].get<int64_t>());
  CHECK(done2["previous_commit"] == first);
  REQUIRE(done2["changes"].size() == 4);
  CHECK(done2["changes"][0]["sha"] == heads[3]);
  CHECK(done2["changes"][3]["sha"] == heads[0]);
  CHECK(runs_of(c, "app/main").size() == 2);

  // A commit whose Jenkinsfile does not parse: a failed run whose log says why.
  std::string bad =
      commit(repo.work, {{"Jenkinsfile", "pipeline {\n  agent any\n  stages {\n"}}, "oops");
  repo.push();
  std::string body = github_push("file://" + repo.bare, "refs/heads/main", bad);
  REQUIRE(post_hook(c, body, "sha256=" + hmac_sha256_hex(kSecret, body)).status == 202);
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 3; }));
  json failed = c.wait_run(runs_of(c, "app/main")[2]["id"].get<int64_t>());
  CHECK(failed["status"] == "failed");
  CHECK(failed["commit"] == bad);
  std::string log = c.stage_log(failed["id"].get<int64_t>(), "(pipeline)");
  CHECK(log.find("Jenkinsfile:") != std::string::npos);
  CHECK(log.find("error:") != std::string::npos);
  CliResult logs = c.cli({"logs", failed["id"].dump()});
  CHECK(logs.out.find("Jenkinsfile:") != std::string::npos);
}

TEST_CASE("changeset skips a stage when only docs changed, a tag runs buildingTag stages") {
  TempDir t;
  const char* pipeline = R"(pipeline {
  agent any
  stages {
    stage('Build') {
      when { changeset 'src/**' }
      steps { sh 'echo building' }
    }
    stage('Docs') { steps { sh 'echo always' } }
    stage('Release') {
      when { buildingTag() }
      steps { sh 'echo "releasing $TAG_NAME"' }
    }
  }
}
)";
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", pipeline}});
  Cluster c(config_for("file://" + repo.bare, "300ms"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);

  commit(repo.work, {{"docs/guide.md", "words\n"}}, "docs only");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 1; }));
  json docs = c.wait_run(runs_of(c, "app/main")[0]["id"].get<int64_t>());
  CHECK(docs["status"] == "succeeded");
  CHECK(stage_of(docs, "Build")["status"] == "skipped");
  CHECK(stage_of(docs, "Docs")["status"] == "succeeded");
  CHECK(stage_of(docs, "Release")["status"] == "skipped");

  commit(repo.work, {{"src/main.c", "int main(){}\n"}}, "code");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 2; }));
  json code = c.wait_run(runs_of(c, "app/main")[1]["id"].get<int64_t>());
  CHECK(stage_of(code, "Build")["status"] == "succeeded");

  sh(repo.work, "git tag -a v1.0 -m 'release 1.0'");
  repo.push("v1.0");
  REQUIRE(eventually([&] { return runs_of(c, "app/v1.0").size() == 1; }));
  json tag = c.wait_run(runs_of(c, "app/v1.0")[0]["id"].get<int64_t>());
  CHECK(tag["ref"] == "refs/tags/v1.0");
  CHECK(stage_of(tag, "Release")["status"] == "succeeded");
  CHECK(c.stage_log(tag["id"].get<int64_t>(), "Release").find("releasing v1.0") !=
        std::string::npos);
  // A tag that does not match `tags` starts nothing.
  sh(repo.work, "git tag nightly");
  repo.push("nightly");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CHECK(runs_of(c, "app/nightly").empty());

  // `gantry trigger --repo NAME --ref BRANCH` runs the branch's job.
  CliResult trig = c.cli({"trigger", "--repo", "app", "--ref", "main"});
  REQUIRE(trig.exit_code == 0);
  json manual = c.wait_run(std::stoll(trig.out));
  CHECK(manual["job"] == "app/main");
  CHECK(manual["ref"] == "refs/heads/main");
  CHECK(manual["status"] == "succeeded");
}

TEST_CASE("a cron trigger in the Jenkinsfile starts a run of the branch head on the minute") {
  TempDir t;
  const char* pipeline = R"(pipeline {
  agent any
  triggers { cron('* * * * *') }
  stages {
    stage('Tick') { steps { sh 'echo tick' } }
  }
}
)";
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", pipeline}});
  std::string head = sh(repo.work, "git rev-parse HEAD");
  Cluster c(config_for("file://" + repo.bare, "0s"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);
  REQUIRE(eventually([&] { return !runs_of(c, "app/main").empty(); }, std::chrono::seconds(75)));
  json run = c.wait_run(runs_of(c, "app/main")[0]["id"].get<int64_t>());
  CHECK(run["trigger"] == "cron");
  CHECK(run["commit"] == head);
  CHECK(run["status"] == "succeeded");
}

TEST_CASE("a controller restart neither misses a push made while it was down nor repeats one") {
  TempDir t;
  Repo repo = init_repo(t.path + "/app.git", {{"Jenkinsfile", kEnvPipeline}});
  Cluster c(config_for("file://" + repo.bare, "300ms"));
  c.start_controller();
  c.start_agent({.name = "a1"});
  wait_baseline(c);
  std::string before = commit(repo.work, {{"src/a.c", "int a;\n"}}, "before the restart");
  repo.push();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 1; }));
  c.wait_run(runs_of(c, "app/main")[0]["id"].get<int64_t>());

  c.stop_controller();
  std::string during = commit(repo.work, {{"src/b.c", "int b;\n"}}, "while it was down");
  repo.push();
  c.start_controller();
  REQUIRE(eventually([&] { return runs_of(c, "app/main").size() == 2; }));
  json run = c.wait_run(runs_of(c, "app/main")[1]["id"].get<int64_t>());
  CHECK(run["commit"] == during);
  CHECK(run["previous_commit"] == before);
  // A few more polls: the heads it had seen are not built again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(runs_of(c, "app/main").size() == 2);
}
