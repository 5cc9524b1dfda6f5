// Private repositories (issue 21, docs/forges.md): watched by the controller and checked out by
// an agent with configured credentials, over SSH (a real sshd from Debian on a loopback port,
// throwaway host and user keys, the host checked against known_hosts) and over HTTPS with a
// token (git's http-backend behind Basic authentication and TLS, tests/support/
// git_http_server.py). Wrong keys, unknown hosts and changed host keys are refused.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "../support/py_server.hpp"
#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Runs `cmd`, which must succeed; its trimmed stdout.
std::string run_ok(const std::string& cmd) {
  CliResult r = shell(cmd + " 2>&1");
  INFO(cmd << "\n" << r.out);
  REQUIRE(r.exit_code == 0);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// A bare repository `NAME.git` under `root` whose Jenkinsfile reads a file of the checkout.
std::string make_bare(const std::string& root, const std::string& name) {
  const std::string work = root + "/" + name + ".work", bare = root + "/" + name + ".git";
  fs::create_directories(work);
  std::ofstream(work + "/secret-plan.txt") << "the private plan\n";
  std::ofstream(work + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages {
    stage('Read') { steps { sh 'cat secret-plan.txt; ! grep -rqs --exclude=Jenkinsfile "PRIVATE KEY" .' } }
  }
}
)";
  run_ok("cd '" + work +
         "' && git init -q -b main && git add -A && git -c user.name=T -c user.email=t@x commit "
         "-qm init && git clone -q --bare . '" +
         bare + "'");
  return bare;
}

// A real sshd (Debian's openssh-server) on 127.0.0.1:port, accepting `authorized` keys for the
// user running the test, that runs git-upload-pack as git over SSH does.
struct Sshd {
  Sshd(const std::string& dir, const std::string& authorized) {
    fs::create_directories(dir);
    run_ok("ssh-keygen -q -t ed25519 -N '' -f '" + dir + "/host_key'");
    std::ofstream(dir + "/authorized_keys") << authorized;
    fs::permissions(dir + "/authorized_keys", fs::perms::owner_read | fs::perms::owner_write);
    port = static_cast<uint16_t>(free_port());
    std::ofstream(dir + "/sshd_config")
        << "Port " << port << "\nListenAddress 127.0.0.1\nHostKey " << dir
        << "/host_key\nAuthorizedKeysFile " << dir
        << "/authorized_keys\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        << "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPidFile " << dir
        << "/sshd.pid\nLogLevel VERBOSE\n";
    fs::create_directories("/run/sshd");  // its privilege separation directory
    REQUIRE(
        child.start({"/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"}, dir + "/sshd.log"));
    REQUIRE(eventually(
        [&] { return slurp(dir + "/sshd.log").find("listening") != std::string::npos; }, 10s));
    const std::string pub = slurp(dir + "/host_key.pub");
    known_hosts =
        "[127.0.0.1]:" + std::to_string(port) + " " + pub.substr(0, pub.rfind(' ')) + "\n";
  }
  ~Sshd() {
    child.signal(SIGTERM);
    child.wait(5s);
  }
  Child child;
  uint16_t port = 0;
  std::string known_hosts;
};

// The repository's entry in GET /api/v1/repos; an empty object when the request fails.
json repo_named(Cluster& c, const std::string& name) {
  HttpResult h = c.http("GET", "/api/v1/repos");
  const json repos = json::parse(h.body, nullptr, false);
  if (!repos.is_object() || !repos.contains("repos")) {
    UNSCOPED_INFO("GET /api/v1/repos: " << h.status << " " << h.body);
    return json::object();
  }
  for (const auto& r : repos["repos"]) {
    if (r["name"] == name) return r;
  }
  return json::object();
}

}  // namespace

TEST_CASE("a private repository over SSH is watched and checked out with its deploy key") {
  TempDir t;
  const std::string bare = make_bare(t.path, "app");
  run_ok("ssh-keygen -q -t ed25519 -N '' -C deploy -f '" + t.path + "/deploy_key'");
  run_ok("ssh-keygen -q -t ed25519 -N '' -C stranger -f '" + t.path + "/other_key'");
  Sshd sshd(t.path + "/sshd", slurp(t.path + "/deploy_key.pub"));
  const std::string user = run_ok("id -un");
  const std::string url = "ssh://" + user + "@127.0.0.1:" + std::to_string(sshd.port) + bare;
  std::ofstream(t.path + "/known_hosts") << "# ssh-keyscan -p PORT 127.0.0.1\n" << sshd.known_hosts;
  std::ofstream(t.path + "/wrong_hosts")
      << "[127.0.0.1]:" << sshd.port << " "
      << slurp(t.path + "/other_key.pub").substr(0, slurp(t.path + "/other_key.pub").rfind(' '))
      << "\n";
  // `stranger` names the same repository (a trailing slash: another mirror) with a key the
  // server does not know; `elsewhere` a host known_hosts does not list.
  const std::string elsewhere = "ssh://" + user + "@localhost:" + std::to_string(sshd.port) + bare;
  Cluster c("repositories:\n  - {name: app, url: '" + url +
            "', branches: [main], poll: 1s, credentials: deploy-key}\n"
            "  - {name: stranger, url: '" +
            url + "/', branches: [main], poll: 0s, credentials: other-key}\n" +
            "  - {name: elsewhere, url: '" + elsewhere +
            "', branches: [main], poll: 0s, credentials: deploy-key}\n"
            "secrets:\n  deploy-key: {file: " +
            t.path + "/deploy_key}\n  other-key: {file: " + t.path +
            "/other_key}\ngit: {known_hosts: " + t.path + "/known_hosts}\n");
  c.start_controller();
  c.start_agent({.name = "a1"});
  // The controller fetched it over SSH with the deploy key.
  REQUIRE(eventually([&] {
    json r = repo_named(c, "app");
    return !r.value("heads", json::object()).empty();
  }));
  // The agent checked it out with the same key, given for that checkout only.
  json run = c.wait_run(c.trigger("app"));
  CHECK(run["status"] == "succeeded");
  const std::string log = c.stage_log(run["id"].get<int64_t>(), "Read");
  CHECK(log.find("the private plan") != std::string::npos);
  CHECK(log.find("BEGIN OPENSSH") == std::string::npos);

  // A key the server does not know: refused, and said so.
  REQUIRE(eventually(
      [&] { return !repo_named(c, "stranger").value("last_error", std::string()).empty(); }));
  CHECK(repo_named(c, "stranger").value("heads", json::object()).empty());
  CHECK(repo_named(c, "stranger").value("last_error", std::string()).find("authenticat") !=
        std::string::npos);

  REQUIRE(eventually(
      [&] { return !repo_named(c, "elsewhere").value("last_error", std::string()).empty(); }));
  CHECK(repo_named(c, "elsewhere")
            .value("last_error", std::string())
            .find("[localhost]:" + std::to_string(sshd.port) + " is not in known_hosts") !=
        std::string::npos);

  // The host's key changes (known_hosts says another): the fetch is refused, nothing runs.
  std::string text = slurp(c.config_path());
  text.replace(text.find("/known_hosts}"), 13, "/wrong_hosts}");
  std::ofstream(c.config_path(), std::ios::trunc) << text;
  c.signal_controller(SIGHUP);
  REQUIRE(eventually([&] {
    return repo_named(c, "app")
               .value("last_error", std::string())
               .find("differs from known_hosts") != std::string::npos;
  }));
}

TEST_CASE("a private repository over HTTPS is watched and checked out with a token") {
  TempDir t;
  const std::string root = t.path + "/srv";
  fs::create_directories(root);
  make_bare(root, "app");
  // A CA of the test's own and a certificate for 127.0.0.1 signed by it.
  run_ok("cd '" + t.path +
         "' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca "
         "-keyout ca.key -out ca.pem 2>/dev/null && openssl req -newkey rsa:2048 -nodes "
         "-subj /CN=127.0.0.1 -keyout tls.key -out tls.csr 2>/dev/null && printf "
         "'subjectAltName=IP:127.0.0.1\\n' > san.ext && openssl x509 -req -in tls.csr -CA ca.pem "
         "-CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out tls.pem 2>/dev/null");
  gantry::test::PyServer server(
      "git_http_server.py", "githttp",
      {"--root", root, "--user", "ci-bot", "--token", "t0ken-123", "--cert", t.path + "/tls.pem",
       "--key", t.path + "/tls.key", "--max-seconds", "240"});
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/app.git";
  std::ofstream(t.path + "/token") << "ci-bot:t0ken-123\n";
  Cluster c("repositories:\n  - {name: app, url: '" + url +
            "', branches: [main], poll: 0s, credentials: bot-token}\n"
            // The same repository (a trailing slash: another mirror) without the token.
            "  - {name: anonymous, url: '" +
            url +
            "/', branches: [main], poll: 0s}\n"
            "secrets:\n  bot-token: {file: " +
            t.path + "/token}\ngit: {ca_file: " + t.path + "/ca.pem}\n");
  c.start_controller();
  c.start_agent({.name = "a1"});
  const bool fetched = eventually([&] {
    json r = repo_named(c, "app");
    return !r.value("heads", json::object()).empty();
  });
  INFO(repo_named(c, "app").dump() << "\n" << server.read("requests.log"));
  REQUIRE(fetched);
  json run = c.wait_run(c.trigger("app"));
  CHECK(run["status"] == "succeeded");
  CHECK(c.stage_log(run["id"].get<int64_t>(), "Read").find("the private plan") !=
        std::string::npos);
  // Without the token: the server's 401 reaches the repository's status.
  REQUIRE(eventually(
      [&] { return !repo_named(c, "anonymous").value("last_error", std::string()).empty(); }));
  CHECK(repo_named(c, "anonymous").value("heads", json::object()).empty());
}

TEST_CASE("sshagent and sshUserPrivateKey give a job's ssh the deploy key for one block") {
  TempDir t;
  run_ok("ssh-keygen -q -t ed25519 -N '' -C deploy -f '" + t.path + "/deploy_key'");
  Sshd sshd(t.path + "/sshd", slurp(t.path + "/deploy_key.pub"));
  const std::string user = run_ok("id -un");
  const std::string ssh =
      "ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
      "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=no -p " +
      std::to_string(sshd.port) + " " + user + "@127.0.0.1";
  Cluster c("secrets:\n  deploy-key: {file: " + t.path + "/deploy_key}\n");
  const std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Agent') {
      steps {
        sshagent(['deploy-key']) {
          sh 'test -S "$SSH_AUTH_SOCK" && ssh-add -l | grep -c deploy'
          sh ')" + ssh + R"( echo hello-through-the-agent'
        }
        sh 'test -z "$SSH_AUTH_SOCK"'
      }
    }
    stage('Key file') {
      steps {
        withCredentials([sshUserPrivateKey(credentialsId: 'deploy-key', keyFileVariable: 'KEY', usernameVariable: 'U')]) {
          sh ')" + ssh + R"( -i "$KEY" echo hello-with-the-key-file'
        }
      }
    }
  }
}
)"}});
  c.add_repository("ops", repo);
  c.start_controller();
  c.start_agent({.name = "a1"});
  json run = c.wait_run(c.trigger("ops"));
  const int64_t id = run["id"].get<int64_t>();
  INFO(c.stage_log(id, "Agent") << c.stage_log(id, "Key file"));
  CHECK(run["status"] == "succeeded");
  CHECK(c.stage_log(id, "Agent").find("hello-through-the-agent") != std::string::npos);
  CHECK(c.stage_log(id, "Agent").find("[ssh-agent] Using credentials deploy-key") !=
        std::string::npos);
  CHECK(c.stage_log(id, "Key file").find("hello-with-the-key-file") != std::string::npos);
  // The socket directory is gone with the block.
  CHECK(run_ok("ls /tmp | grep -c '^gantry-ssh-' || true") == "0");
}
