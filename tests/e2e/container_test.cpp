// Container agents (SPEC §5, issue 20, docs/containers.md), with real podman and images
// built here: a busybox-static root filesystem imported once per test binary (no registry
// is reachable, nothing is pulled). Each case starts a controller and an agent that finds
// its engine itself (--container-engine auto).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <thread>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* kImage = "localhost/gantry-e2e-busybox:1";

// The test image: busybox-static with its applets, and an os-release that is not the host's.
// Made once per process; a second process importing the same tag is harmless.
void ensure_image() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    if (shell(std::string("podman image exists ") + kImage).exit_code == 0) return;
    TempDir t;
    std::string root = t.path + "/root";
    for (const char* d : {"/bin", "/etc", "/tmp", "/var/www"}) fs::create_directories(root + d);
    fs::permissions(root + "/tmp", fs::perms::all | fs::perms::sticky_bit);
    CliResult bb = shell("command -v busybox || ls /bin/busybox");
    std::string busybox = bb.out.substr(0, bb.out.find('\n'));
    if (busybox.empty()) {
      error = "busybox is not installed (packaging/deps.sh installs busybox-static)";
      return;
    }
    fs::copy_file(busybox, root + "/bin/busybox");
    CliResult list = shell(root + "/bin/busybox --list");
    size_t pos = 0;
    while (pos < list.out.size()) {
      size_t nl = list.out.find('\n', pos);
      std::string applet = list.out.substr(pos, nl - pos);
      if (!applet.empty() && applet != "busybox") {
        std::error_code ec;
        fs::create_symlink("busybox", root + "/bin/" + applet, ec);
      }
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    std::ofstream(root + "/etc/os-release") << "ID=gantrytest\nNAME=\"Gantry test image\"\n";
    std::ofstream(root + "/var/www/hello.txt") << "hello from the web container\n";
    CliResult imp = shell("tar -C " + root + " -cf - . | podman import - " + kImage + " 2>&1");
    if (imp.exit_code != 0) error = "podman import failed: " + imp.out;
  });
  REQUIRE(error.empty());
}

// Containers of this test's agents still there (labelled gantry.agent=...).
std::string containers_left(const std::string& agent_id) {
  return shell("podman ps -a -q --filter label=gantry.agent=" + agent_id).out;
}

// Those still there after up to 10 s: a container started with --rm is removed by the engine
// shortly after the job kills it.
std::string containers_kept(const std::string& agent_id) {
  std::string left = containers_left(agent_id);
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    std::this_thread::sleep_for(100ms);
    left = containers_left(agent_id);
  }
  return left;
}

std::string agent_id(Cluster& c, const std::string& name) {
  std::ifstream in(c.dir() + "/" + name + "/state/agent_id");
  std::string id;
  std::getline(in, id);
  return id;
}

AgentOptions with_engine(const std::string& name) {
  AgentOptions o;
  o.name = name;
  o.container_engine = "auto";
  return o;
}

// A controller watching `repo` as "app" and one agent, "boxed", with its engine.
int start_boxed(Cluster& c, const std::string& repo) {
  c.add_repository("app", repo);
  c.start_controller();
  int index = c.start_agent(with_engine("boxed"));
  c.wait_agents(1);
  return index;
}

// Polls until the stage's log shows its step has started (a line "started").
void wait_started(Cluster& c, int64_t id, const std::string& stage) {
  for (int i = 0; i < 300 && c.stage_log(id, stage).find("\nstarted\n") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
}

}  // namespace

TEST_CASE("a docker agent runs the stage's steps in its image, as the job user") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo(
      {{"Jenkinsfile", std::string(R"JF(pipeline {
  agent none
  environment { GREETING = 'hello from the job' }
  stages {
    stage('Image') {
      agent { docker { image ')JF") +
                           kImage +
                           R"JF('; args '-e FROM_ARGS=set-by-args -v $WORKSPACE@tmp/m2:/m2' } }
      steps {
        sh 'cat /etc/os-release'
        sh 'echo "greeting=$GREETING args=$FROM_ARGS"'
        sh 'test -d /m2 && echo "m2 mounted"'
        withCredentials([string(credentialsId: 'token', variable: 'TOKEN')]) {
          sh 'echo "token=$TOKEN length=${#TOKEN}"'
        }
        sh 'echo "uid=$(id -u)"; echo made > made.txt; pwd'
        script {
          def code = sh(script: 'exit 7', returnStatus: true)
          echo "returned=${code}"
        }
        sh 'exit 3'
      }
    }
    stage('Host') {
      agent any
      steps { sh 'echo "host: $(head -1 /etc/os-release)"' }
    }
  }
}
)JF"}});
  c.add_repository("app", repo);
  std::ofstream(c.config_path(), std::ios::app) << "secrets:\n  token: {value: s3cr3t-in-box}\n";
  c.start_controller();
  AgentOptions o = with_engine("boxed");
  const bool root = ::geteuid() == 0;
  if (root) o.extra_args = {"--job-user", "nobody"};
  if (root) REQUIRE(::chmod(c.dir().c_str(), 0711) == 0);
  c.start_agent(o);
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 120s);
  std::string log = c.stage_log(id, "Image");
  INFO(log);
  INFO(read_file(c.dir() + "/boxed.log"));
  CHECK(run["status"] == "failed");
  CHECK(log.find("ID=gantrytest") != std::string::npos);  // the image's, not the host's
  CHECK(log.find("greeting=hello from the job args=set-by-args") != std::string::npos);
  CHECK(log.find("\nm2 mounted\n") != std::string::npos);  // made, as docker makes it
  CHECK(log.find("token=**** length=13") != std::string::npos);
  CHECK(log.find("s3cr3t-in-box") == std::string::npos);
  CHECK(log.find("returned=7") != std::string::npos);
  CHECK(log.find("script returned exit code 3") != std::string::npos);
  // Files it left in the workspace are the job user's, not root's.
  std::string uid = std::to_string(root ? 65534 : ::geteuid());
  CHECK(log.find("uid=" + uid) != std::string::npos);
  CHECK(shell("find " + c.dir() + "/boxed/workspace -name made.txt -uid " + uid)
            .out.find("made.txt") != std::string::npos);
  // The next stage (no container) is skipped after the failure; the container is gone.
  CHECK(containers_kept(agent_id(c, "boxed")).empty());
}

TEST_CASE("reuseNode runs the container on the pipeline's agent, in its workspace") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo({{"Jenkinsfile", std::string(R"JF(pipeline {
  agent { label 'builder' }
  stages {
    stage('Prepare') { steps { sh 'echo prepared > shared.txt' } }
    stage('In image') {
      agent { docker { image ')JF") + kImage + R"JF('; reuseNode true } }
      steps { sh 'echo "saw=$(cat shared.txt) in $(grep ^ID= /etc/os-release)"' }
    }
  }
}
)JF"}});
  c.add_repository("app", repo);
  c.start_controller();
  AgentOptions plain;
  plain.name = "plain";
  plain.labels = {"builder"};
  c.start_agent(plain);  // no engine: the container stage may not go here
  AgentOptions boxed = with_engine("boxed");
  boxed.labels = {"builder"};
  c.start_agent(boxed);
  c.wait_agents(2);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 120s);
  std::string log = c.stage_log(id, "In image");
  INFO(run.dump(2));
  INFO(log);
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("saw=prepared in ID=gantrytest") != std::string::npos);
  for (const auto& s : run["stages"]) CHECK(s["agent"] == "boxed");
}

TEST_CASE("a container stage waits, saying why, while no agent has a container engine") {
  Cluster c;
  std::string repo = c.make_repo({{"Jenkinsfile", R"JF(pipeline {
  agent { docker { image 'maven:3-eclipse-temurin-17' } }
  stages { stage('Build') { steps { sh 'mvn -v' } } }
}
)JF"}});
  c.add_repository("app", repo);
  c.start_controller();
  c.start_agent(AgentOptions{});  // --container-engine none
  c.wait_agents(1);
  int64_t id = c.trigger("app");
  json stage = c.wait_stage(id, "Build", "queued", 20s);
  std::string reason;
  for (int i = 0; i < 100 && reason.find("docker") == std::string::npos; ++i) {
    json run = c.get_json("/api/v1/runs/" + std::to_string(id));
    for (const auto& s : run["stages"]) {
      if (s["name"] == "Build") reason = s.value("reason", "");
    }
    std::this_thread::sleep_for(100ms);
  }
  INFO(reason);
  CHECK(reason.find("waiting for an agent with label 'docker'") != std::string::npos);
  CHECK(reason.find("none of the 1 connected agent(s) has it") != std::string::npos);
  CHECK(c.cli({"cancel", std::to_string(id)}).exit_code == 0);
  // Before any run, lint and plan say it against the connected agents.
  const std::string file = c.dir() + "/Jenkinsfile";
  std::ofstream(file) << R"JF(pipeline {
  agent { label 'linux' }
  stages {
    stage('Build') { steps { sh 'make' } }
    stage('Image') { agent { docker { image 'alpine:3' } }; steps { sh 'true' } }
  }
}
)JF";
  CHECK(c.cli({"lint", file}).exit_code == 0);  // offline: nothing to check against
  CliResult lint = c.cli({"lint", "--agents", "--strict", file});
  INFO(lint.out);
  CHECK(lint.exit_code == 1);
  CHECK(lint.out.find("stage 'Image' needs an agent with label 'docker' (a container engine)") !=
        std::string::npos);
  CHECK(lint.out.find("stage 'Build' needs an agent with label 'linux'") != std::string::npos);
  CliResult plan = c.cli({"plan", "--agents", file});
  INFO(plan.out);
  CHECK(plan.out.find("Image [docker]: none qualifies") != std::string::npos);
  c.start_agent([] {
    AgentOptions o;
    o.name = "linuxbox";
    o.labels = {"linux", "docker"};  // as an agent with an engine advertises it
    return o;
  }());
  c.wait_agents(2);
  plan = c.cli({"plan", "--agents", file});
  INFO(plan.out);
  CHECK(plan.out.find("Image [docker]: linuxbox") != std::string::npos);
  CHECK(plan.out.find("Build [linux]: linuxbox") != std::string::npos);
  CHECK(c.cli({"lint", "--agents", "--strict", file}).exit_code == 0);
}

TEST_CASE("cancel stops the step inside the container and removes the container") {
  ensure_image();
  Cluster c("cancel_grace: 1s\n");
  std::string repo = c.make_repo({{"Jenkinsfile", std::string(R"JF(pipeline {
  agent { docker { image ')JF") + kImage + R"JF(' } }
  stages {
    stage('Long') { steps { sh 'echo started; sleep 297; echo never' } }
  }
}
)JF"}});
  start_boxed(c, repo);
  int64_t id = c.trigger("app");
  wait_started(c, id, "Long");
  const std::string agent = agent_id(c, "boxed");
  REQUIRE(!containers_left(agent).empty());
  CHECK(c.cli({"cancel", std::to_string(id)}).exit_code == 0);
  json run = c.wait_run(id, 60s);
  INFO(c.stage_log(id, "Long"));
  CHECK(run["status"] == "aborted");
  CHECK(containers_kept(agent).empty());
  CHECK(shell("ps -eo args | grep -x 'sleep 297'").out.empty());  // killed inside
}

TEST_CASE("an agent killed mid-step leaves no container once it restarts") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo({{"Jenkinsfile", std::string(R"JF(pipeline {
  agent { docker { image ')JF") + kImage + R"JF(' } }
  stages { stage('Long') { steps { sh 'echo started; sleep 300' } } }
}
)JF"}});
  int index = start_boxed(c, repo);
  int64_t id = c.trigger("app");
  wait_started(c, id, "Long");
  const std::string agent = agent_id(c, "boxed");
  REQUIRE(!containers_left(agent).empty());
  c.stop_agent(index, SIGKILL);
  CHECK(!containers_left(agent).empty());  // nobody removed it: the agent died
  c.start_agent(with_engine("boxed"));
  for (int i = 0; i < 300 && !containers_left(agent).empty(); ++i)
    std::this_thread::sleep_for(100ms);
  INFO(read_file(c.dir() + "/boxed.log"));
  CHECK(containers_left(agent).empty());
  c.cli({"cancel", std::to_string(id)});  // if it is still on
  c.wait_run(id, 60s);
}

TEST_CASE("a dockerfile agent builds its image from the workspace, from cache the second time") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo({
      {"ci/Dockerfile", std::string("FROM ") + kImage + "\nCOPY motd.txt /etc/motd\n"},
      {"ci/motd.txt", "built into the image\n"},
      {"Jenkinsfile", R"JF(pipeline {
  agent { dockerfile { filename 'Dockerfile'; dir 'ci'; additionalBuildArgs '--label team=gantry' } }
  stages { stage('Build') { steps { sh 'cat /etc/motd' } } }
}
)JF"},
  });
  start_boxed(c, repo);
  int64_t first = c.trigger("app");
  json run = c.wait_run(first, 180s);
  std::string log1 = c.stage_log(first, "Build");
  INFO(log1);
  REQUIRE(run["status"] == "succeeded");
  CHECK(log1.find("\nbuilt into the image\n") != std::string::npos);
  int64_t second = c.trigger("app");
  run = c.wait_run(second, 180s);
  std::string log2 = c.stage_log(second, "Build");
  INFO(log2);
  REQUIRE(run["status"] == "succeeded");
  CHECK(log2.find("Using cache") != std::string::npos);
  CHECK(log2.find("\nbuilt into the image\n") != std::string::npos);
}

TEST_CASE("a kubernetes pod's containers share localhost and container() picks one") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo({{"Jenkinsfile", std::string(R"JF(pipeline {
  agent {
    kubernetes {
      defaultContainer 'client'
      yaml '''
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: web
    image: )JF") + kImage + R"JF(
    command: ['httpd', '-f', '-p', '18080', '-h', '/var/www']
  - name: client
    image: )JF" + kImage + R"JF(
    command: ['cat']
    tty: true
    env:
    - name: ROLE
      value: client
'''
    }
  }
  stages {
    stage('Talk') {
      steps {
        sh 'echo "role=$ROLE"'
        sh 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:18080/hello.txt && exit 0; sleep 0.5; done; exit 1'
        container('web') { sh 'echo "in web: $(ps | grep -c httpd)"' }
      }
    }
  }
}
)JF"}});
  start_boxed(c, repo);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 120s);
  std::string log = c.stage_log(id, "Talk");
  INFO(log);
  INFO(read_file(c.dir() + "/boxed.log"));
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("role=client") != std::string::npos);
  CHECK(log.find("hello from the web container") != std::string::npos);
  CHECK(log.find("in web: ") != std::string::npos);
  CHECK(containers_kept(agent_id(c, "boxed")).empty());
}

TEST_CASE("Docker Pipeline in a script: withRun sidecar, inside, build") {
  ensure_image();
  Cluster c;
  std::string repo = c.make_repo({
      {"ci/Dockerfile", std::string("FROM ") + kImage + "\nCOPY motd.txt /etc/motd\n"},
      {"ci/motd.txt", "from docker.build\n"},
      {"Jenkinsfile", std::string(R"JF(pipeline {
  agent { label 'docker' }
  stages {
    stage('Script') {
      steps {
        script {
          def base = docker.image(')JF") +
                          kImage + R"JF(')
          base.withRun('-e MSG=sidecar', 'httpd -f -p 18081 -h /var/www') { c ->
            echo "sidecar id length=${c.id.length() > 0}"
            base.inside("--network container:${c.id}") {
              sh 'grep ^ID= /etc/os-release'
              sh 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O - http://127.0.0.1:18081/hello.txt && exit 0; sleep 0.5; done; exit 1'
            }
          }
          // As in Jenkins, build args go through the shell: $(...) and quotes work.
          def built = docker.build('localhost/gantry-built:1', '-f "ci/Dockerfile" $(echo said-on-stderr >&2; echo ci)')
          built.inside { sh 'cat /etc/motd' }
          try {
            base.inside { sh 'exit 4' }
          } catch (err) {
            echo "caught: ${err.message}"
          }
        }
      }
    }
  }
}
)JF"},
  });
  start_boxed(c, repo);
  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 180s);
  std::string log = c.stage_log(id, "Script");
  INFO(log);
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("sidecar id length=true") != std::string::npos);
  CHECK(log.find("ID=gantrytest") != std::string::npos);
  CHECK(log.find("hello from the web container") != std::string::npos);
  CHECK(log.find("\nfrom docker.build\n") != std::string::npos);
  CHECK(log.find("\nsaid-on-stderr\n") != std::string::npos);  // in the log, not an argument
  CHECK(log.find("caught: script returned exit code 4") != std::string::npos);
  CHECK(containers_kept(agent_id(c, "boxed")).empty());
}

namespace {

// A real registry (Debian's docker-registry, the CNCF distribution server) on 127.0.0.1
// with htpasswd logins, storing in `dir`. Plain HTTP: the agent is told through
// CONTAINERS_REGISTRIES_CONF that this one address is insecure, as an admin would.
struct Registry {
  explicit Registry(const std::string& dir) : dir_(dir) {
    port = free_port();
    address = "127.0.0.1:" + std::to_string(port);
    CliResult pw = shell("htpasswd -Bbn alice 'al1ce-Pa55' > '" + dir + "/htpasswd' 2>&1");
    REQUIRE(pw.exit_code == 0);
    std::ofstream(dir + "/registry.yml")
        << "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: " << dir
        << "/data\nhttp:\n  addr: " << address
        << "\nauth:\n  htpasswd:\n    realm: gantry-test\n    path: " << dir << "/htpasswd\n";
    std::ofstream(dir + "/registries.conf")
        << "[[registry]]\nlocation = \"" << address << "\"\ninsecure = true\n";
    REQUIRE(child_.start({"/usr/bin/docker-registry", "serve", dir + "/registry.yml"},
                         dir + "/registry.log"));
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up = shell("curl -s -o /dev/null -w '%{http_code}' http://" + address + "/v2/").out == "401";
      if (!up) std::this_thread::sleep_for(100ms);
    }
    REQUIRE(up);
  }
  ~Registry() {
    child_.signal(SIGTERM);
    child_.wait(5s);
    // The images this test tagged for it (their names carry its port).
    shell("podman images --format '{{.Repository}}:{{.Tag}}' | grep -F '" + address +
          "/' | xargs -r podman rmi -f >/dev/null 2>&1; podman rmi -f localhost/team/app:1 "
          ">/dev/null 2>&1");
  }
  std::string dir_;
  uint16_t port = 0;
  std::string address;
  Child child_;
};

}  // namespace

TEST_CASE("registry logins: withRegistry pushes, a docker agent pulls with its credentials") {
  ensure_image();
  Cluster c;
  Registry registry(c.dir());
  std::ofstream(c.config_path(), std::ios::app)
      << "secrets:\n  reg-login: {value: \"alice:al1ce-Pa55\"}\n"
      << "  bad-login: {value: \"alice:wrong-password\"}\n";
  auto with_registry = [&](std::string text) {
    for (size_t at; (at = text.find("URL")) != std::string::npos;)
      text.replace(at, 3, "http://" + registry.address);
    return text;
  };
  // One repository publishes an image through docker.withRegistry ...
  c.add_repository(
      "publisher",
      c.make_repo({
          {"ci/Dockerfile", std::string("FROM ") + kImage + "\nCOPY motd.txt /etc/motd\n"},
          {"ci/motd.txt", "from the registry\n"},
          {"Jenkinsfile", with_registry(R"JF(pipeline {
  agent { label 'docker' }
  stages {
    stage('Publish') {
      steps {
        script {
          docker.withRegistry('URL', 'reg-login') {
            def img = docker.build('team/app:1', 'ci')
            img.push()
            img.push('latest')
          }
        }
      }
    }
  }
}
)JF")},
      }));
  // ... another runs a stage in it, pulled with registryCredentialsId, and is refused with
  // the wrong password.
  c.add_repository("consumer", c.make_repo({{"Jenkinsfile", with_registry(R"JF(pipeline {
  agent { label 'docker' }
  stages {
    stage('Use') {
      agent {
        docker {
          image 'team/app:1'
          registryUrl 'URL'
          registryCredentialsId 'reg-login'
        }
      }
      steps { sh 'cat /etc/motd' }
    }
    stage('Refused') {
      steps {
        script {
          try {
            docker.withRegistry('URL', 'bad-login') { docker.image('team/app:latest').pull() }
            echo 'pulled with a wrong password'
          } catch (err) {
            echo "refused: ${err.message}"
          }
        }
      }
    }
  }
}
)JF")}}));
  c.start_controller();
  AgentOptions o = with_engine("boxed");
  o.env["CONTAINERS_REGISTRIES_CONF"] = c.dir() + "/registries.conf";
  c.start_agent(o);
  c.wait_agents(1);

  int64_t published = c.trigger("publisher");
  json run = c.wait_run(published, 180s);
  std::string log = c.stage_log(published, "Publish");
  INFO(log);
  INFO(read_file(c.dir() + "/registry.log"));
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("al1ce-Pa55") == std::string::npos);
  // The registry holds both tags, behind its login.
  CHECK(shell("curl -s http://" + registry.address + "/v2/team/app/tags/list").out.find("UNAUTH") !=
        std::string::npos);
  std::string tags =
      shell("curl -s -u alice:al1ce-Pa55 http://" + registry.address + "/v2/team/app/tags/list")
          .out;
  CHECK(tags.find("\"1\"") != std::string::npos);
  CHECK(tags.find("\"latest\"") != std::string::npos);
  // The login was the job's alone: the engine's own login state does not have it.
  CHECK(shell("podman login --get-login " + registry.address + " 2>&1").exit_code != 0);

  // Gone from this machine: the next stage can only get it from the registry.
  shell("podman rmi -f " + registry.address + "/team/app:1 " + registry.address +
        "/team/app:latest localhost/team/app:1 >/dev/null 2>&1");
  REQUIRE(shell("podman image exists " + registry.address + "/team/app:1").exit_code != 0);
  int64_t consumed = c.trigger("consumer");
  run = c.wait_run(consumed, 180s);
  std::string use = c.stage_log(consumed, "Use");
  std::string refused = c.stage_log(consumed, "Refused");
  INFO(use);
  INFO(refused);
  REQUIRE(run["status"] == "succeeded");
  CHECK(use.find("Pulling " + registry.address + "/team/app:1") != std::string::npos);
  CHECK(use.find("\nfrom the registry\n") != std::string::npos);
  CHECK(refused.find("refused: cannot pull " + registry.address + "/team/app:latest") !=
        std::string::npos);
  CHECK(refused.find("pulled with a wrong password") == std::string::npos);
  CHECK(containers_kept(agent_id(c, "boxed")).empty());
}

namespace {

bool eventually(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(200ms);
  }
  return true;
}

// The stand-in API server (tests/e2e/kube_apiserver.py): the documented pod and exec API over
// HTTP, a "kubelet" that runs the pod's containers with podman and its gantry-agent container
// as this build's gantry-agent on the host. No real API server can run here.
struct KubeStandIn {
  KubeStandIn(const std::string& dir, const std::string& agent_token) {
    std::error_code ec;
    fs::create_directories(dir + "/state", ec);
    token_file = dir + "/api.token";
    std::ofstream(token_file) << "kube-api-token-for-the-controller\n";
    REQUIRE(child_.start(
        {"/usr/bin/python3", std::string(GANTRY_SOURCE_DIR) + "/tests/e2e/kube_apiserver.py",
         "--state-dir", dir + "/state", "--token-file", token_file, "--agent-image",
         "gantry/agent:test", "--agent-binary", GANTRY_AGENT_BIN, "--secret",
         "gantry-agent-token/token=" + agent_token, "--podman-flag=--runtime=runc",
         "--podman-flag=--cgroup-manager=cgroupfs", "--podman-run-flag=--ulimit=nofile=20000:20000",
         "--podman-run-flag=--ulimit=nproc=4096:4096", "--max-seconds=280"},
        dir + "/apiserver.log"));
    for (int i = 0; i < 100 && port.empty(); ++i) {
      port = read_file(dir + "/state/port");
      while (!port.empty() && port.back() == '\n') port.pop_back();
      if (port.empty()) std::this_thread::sleep_for(100ms);
    }
    REQUIRE(!port.empty());
    requests = dir + "/state/requests.jsonl";
  }
  ~KubeStandIn() {
    child_.signal(SIGTERM);
    child_.wait(30s);
  }
  std::string port, token_file, requests;
  Child child_;
};

const char* kPodJenkinsfile = R"JF(pipeline {
  agent none
  stages {
    stage('In pod') {
      agent {
        kubernetes {
          yaml '''
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: jnlp
    image: jenkins/inbound-agent:latest
  - name: build
    image: IMAGE
    command: ['cat']
    tty: true
  - name: web
    image: IMAGE
    command: ['httpd', '-f', '-p', '18093', '-h', '/var/www']
'''
          defaultContainer 'build'
        }
      }
      environment { GREETING = "it's a pod" }
      steps {
        sh 'grep ^ID= /etc/os-release; echo "greeting=$GREETING"; echo made-in-build > shared.txt'
        withCredentials([string(credentialsId: 'api-key', variable: 'KEY')]) {
          sh 'echo "key=$KEY"; echo "keylen=${#KEY}"'
        }
        container('web') {
          sh 'wget -q -O - http://127.0.0.1:18093/hello.txt; echo "web sees $(cat shared.txt)"'
        }
        sh 'echo "exit code next"; exit 0'
      }
    }
  }
}
)JF";

}  // namespace

TEST_CASE("kubernetes: configured: a pod per job through the API server, deleted after") {
  ensure_image();
  Cluster c;
  const std::string agent_token = "pod-agent-token-0123456789abcdef";
  KubeStandIn api(c.dir() + "/kube", agent_token);
  std::ofstream(c.config_path(), std::ios::app)
      << "agent_tokens:\n  - {name: pods, token: " << agent_token << "}\n"
      << "secrets:\n  api-key: {value: s3cret-api-key-42}\n"
      << "kubernetes:\n  api: http://127.0.0.1:" << api.port << "\n  namespace: ci\n"
      << "  token_file: " << api.token_file << "\n  agent_image: gantry/agent:test\n"
      << "  work_dir: " << c.dir() << "/podwork\n  start_timeout: 60s\n";
  std::string good = kPodJenkinsfile;
  for (size_t at; (at = good.find("IMAGE")) != std::string::npos;) good.replace(at, 5, kImage);
  std::string bad = kPodJenkinsfile;
  bad.replace(bad.find("IMAGE"), 5, "localhost/gantry-no-such-image:1");
  for (size_t at; (at = bad.find("IMAGE")) != std::string::npos;) bad.replace(at, 5, kImage);
  c.add_repository("app", c.make_repo({{"Jenkinsfile", good}}));
  c.add_repository("broken", c.make_repo({{"Jenkinsfile", bad}}));
  c.start_controller();

  int64_t id = c.trigger("app");
  json run = c.wait_run(id, 180s);
  std::string log = c.stage_log(id, "In pod");
  INFO(log);
  INFO(read_file(c.dir() + "/kube/apiserver.log"));
  INFO(read_file(c.dir() + "/controller.log"));
  REQUIRE(run["status"] == "succeeded");
  CHECK(log.find("ID=gantrytest") != std::string::npos);  // the image's, not the host's
  CHECK(log.find("greeting=it's a pod") != std::string::npos);
  CHECK(log.find("key=****") != std::string::npos);
  CHECK(log.find("keylen=17") != std::string::npos);
  CHECK(log.find("hello from the web container") != std::string::npos);  // localhost shared
  CHECK(log.find("web sees made-in-build") != std::string::npos);        // one workspace
  CHECK(log.find("s3cret-api-key-42") == std::string::npos);

  // What the API server was sent: the pod (jnlp replaced by gantry-agent, the workspace
  // volume, Never), its execs with no value of the job's in their URLs, then its deletion.
  std::string requests = read_file(api.requests);
  CHECK(requests.find("s3cret-api-key-42") == std::string::npos);
  CHECK(requests.find("it's a pod") == std::string::npos);
  json created;
  int execs = 0;
  bool deleted = false;
  std::istringstream lines(requests);
  for (std::string line; std::getline(lines, line);) {
    json r = json::parse(line, nullptr, false);
    if (!r.is_object()) continue;
    const std::string method = r.value("method", ""), path = r.value("path", "");
    if (method == "POST" && path == "/api/v1/namespaces/ci/pods") created = r["body"];
    if (path.find("/exec") != std::string::npos) ++execs;
    if (method == "DELETE" && path.rfind("/api/v1/namespaces/ci/pods/gantry-", 0) == 0)
      deleted = true;
  }
  REQUIRE(created.is_object());
  CHECK(created["spec"]["restartPolicy"] == "Never");
  std::string names;
  for (const json& ctr : created["spec"]["containers"])
    names += ctr["name"].get<std::string>() + " ";
  CHECK(names == "build web gantry-agent ");
  CHECK(created["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gantry");
  CHECK(execs >= 4);
  CHECK(eventually([&] { return read_file(api.requests).find("\"DELETE\"") != std::string::npos; },
                   30s));
  (void)deleted;
  // Nothing of the pod is left running.
  CHECK(eventually(
      [&] { return shell("podman ps -a -q --filter label=gantry.kube.pod").out.empty(); }, 30s));
  INFO(shell("podman ps -a --filter label=gantry.kube.pod 2>&1").out);
  INFO(read_file(api.requests));

  // An image the cluster cannot pull fails the job with the cluster's words, at once.
  int64_t broken = c.trigger("broken");
  run = c.wait_run(broken, 120s);
  INFO(run.dump());
  CHECK(run["status"] == "failed");
  CHECK(run.dump().find("ErrImagePull") != std::string::npos);
}
