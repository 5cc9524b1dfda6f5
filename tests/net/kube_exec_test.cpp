// kube_exec against tests/e2e/kube_apiserver.py, the stand-in Kubernetes API server, whose pod's
// container really runs in podman: output on its channels as it comes, exit codes, stdin, a
// refused token, an unknown container, and HTTPS with the test CA.
#include "gantry/net/kube_exec.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "../support/test_pki.hpp"
#include "gantry/net/http_client.hpp"

extern char** environ;

using namespace gantry::net;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const char* kImage = "localhost/gantry-e2e-busybox:1";
const fs::path kStandIn = fs::path(__FILE__).parent_path().parent_path() / "e2e/kube_apiserver.py";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Output and exit code of `sh -c command`.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {-1, ""};
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool have_podman() {
  return shell("command -v podman >/dev/null 2>&1 && command -v busybox >/dev/null 2>&1").first ==
         0;
}

// The busybox image of tests/e2e/container_test.cpp, made the same way when missing.
void ensure_image() {
  if (shell(std::string("podman image exists ") + kImage).first == 0) return;
  fs::path root = fs::temp_directory_path() / ("gantry-kube-image-" + std::to_string(::getpid()));
  for (const char* d : {"/bin", "/etc", "/tmp", "/var/www"})
    fs::create_directories(root.string() + d);
  fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
  std::string busybox = shell("command -v busybox").second;
  busybox = busybox.substr(0, busybox.find('\n'));
  fs::copy_file(busybox, root / "bin/busybox");
  std::string list = shell((root / "bin/busybox").string() + " --list").second;
  for (size_t pos = 0; pos < list.size();) {
    size_t nl = list.find('\n', pos);
    std::string applet = list.substr(pos, nl - pos);
    std::error_code ec;
    if (!applet.empty() && applet != "busybox")
      fs::create_symlink("busybox", root / "bin" / applet, ec);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  std::ofstream(root / "etc/os-release") << "ID=gantrytest\nNAME=\"Gantry test image\"\n";
  std::ofstream(root / "var/www/hello.txt") << "hello from the web container\n";
  auto imported =
      shell("tar -C " + root.string() + " -cf - . | podman import - " + kImage + " 2>&1");
  fs::remove_all(root);
  INFO(imported.second);
  REQUIRE(imported.first == 0);
}

// The stand-in as a child process: started in the constructor, stopped with SIGTERM (which
// deletes its pods) by stop() or the destructor.
class StandIn {
 public:
  StandIn(const std::string& name, const std::string& cert = {}, const std::string& key = {})
      : dir_(fs::temp_directory_path() /
             ("gantry-kube-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "token") << "s3cret-token\n";
    std::vector<std::string> args = {"/usr/bin/python3",
                                     kStandIn.string(),
                                     "--state-dir",
                                     (dir_ / "state").string(),
                                     "--token-file",
                                     (dir_ / "token").string(),
                                     "--podman-flag=--runtime=runc",
                                     "--podman-flag=--cgroup-manager=cgroupfs",
                                     "--podman-run-flag=--ulimit=nofile=20000:20000",
                                     "--podman-run-flag=--ulimit=nproc=4096:4096",
                                     "--max-seconds=300"};
    if (!cert.empty()) args.insert(args.end(), {"--cert", cert, "--key", key});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::string log = (dir_ / "stand-in.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      std::string text = read_file(dir_ / "state/port");
      if (!text.empty()) port_ = std::stoi(text);
      int status = 0;
      if (port_ == 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("the stand-in exited: " << read_file(log));
      }
      std::this_thread::sleep_for(50ms);
    }
    INFO(read_file(log));
    REQUIRE(port_ != 0);
  }
  ~StandIn() {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  StandIn(const StandIn&) = delete;
  StandIn& operator=(const StandIn&) = delete;

  // SIGTERM, then up to 60 s for it to delete its pods and exit; true if it exited with 0.
  bool stop() {
    if (pid_ <= 0) return exited_ok_;
    ::kill(pid_, SIGTERM);
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
    pid_ = -1;
    exited_ok_ = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    return exited_ok_;
  }

  std::string token() const { return "s3cret-token"; }
  int port() const { return port_; }
  std::string log() const { return read_file(dir_ / "stand-in.log"); }
  std::string requests() const { return read_file(dir_ / "state/requests.jsonl"); }

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ok_ = false;
};

struct Exec {
  KubeExecResult result;
  std::string out, err;
  std::chrono::steady_clock::duration first_output{};  // since the call, for stdout
  std::chrono::steady_clock::duration took{};
};

// kube_exec with a bound: a command still running after 60 s fails the test, and stopping the
// stand-in kills it so the call returns.
Exec run(const KubeExecRequest& request, StandIn& api) {
  auto started = std::chrono::steady_clock::now();
  auto task = std::async(std::launch::async, [request, started] {
    Exec e;
    bool first = true;
    e.result = kube_exec(request, [&](int channel, std::string_view bytes) {
      if (channel == 1 && first) {
        e.first_output = std::chrono::steady_clock::now() - started;
        first = false;
      }
      (channel == 1 ? e.out : e.err).append(bytes);
    });
    e.took = std::chrono::steady_clock::now() - started;
    return e;
  });
  if (task.wait_for(60s) != std::future_status::ready) {
    FAIL_CHECK("kube_exec still running after 60 s");
    api.stop();
  }
  return task.get();
}

// Creates the pod (one busybox container sleeping) and waits up to 60 s for it to run.
void create_pod(StandIn& api, const std::string& base, const TlsClientOptions& tls,
                const std::string& pod) {
  ClientRequest create;
  create.method = "POST";
  create.url = base + "/api/v1/namespaces/default/pods";
  create.tls = tls;
  create.bearer_token = api.token();
  create.timeout = 20s;
  create.body = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + pod +
                R"(","labels":{"gantry.test":"kube-exec"}},"spec":{"restartPolicy":"Never",)"
                R"("containers":[{"name":"main","image":")" +
                std::string(kImage) + R"(","command":["sh","-c","sleep 600"]}]}})";
  ClientResponse created = http_request(create);
  INFO(created.error << created.body);
  REQUIRE(created.status == 201);

  ClientRequest get;
  get.url = create.url + "/" + pod;
  get.tls = tls;
  get.bearer_token = api.token();
  get.timeout = 20s;
  ClientResponse status;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  do {
    std::this_thread::sleep_for(200ms);
    status = http_request(get);
  } while (status.body.find(R"("phase": "Running")") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline);
  INFO(status.error << status.body << api.log());
  REQUIRE(status.body.find(R"("phase": "Running")") != std::string::npos);
}

std::string containers_of(const std::string& pod) {
  return shell("podman ps -a -q --filter label=gantry.kube.pod=" + pod).second;
}

}  // namespace

TEST_CASE("kube_exec runs commands in a pod of the stand-in API server") {
  if (!have_podman()) {
    WARN("podman or busybox is not installed: skipped");
    return;
  }
  ensure_image();
  const std::string pod = "kube-exec-" + std::to_string(::getpid());
  StandIn api("http");
  const std::string base = "http://127.0.0.1:" + std::to_string(api.port());
  create_pod(api, base, {}, pod);
  REQUIRE_FALSE(containers_of(pod).empty());

  KubeExecRequest request;
  request.api = base;
  request.token = api.token();
  request.kube_namespace = "default";
  request.pod = pod;
  request.container = "main";
  request.timeout = 10s;

  // Output on its channels, as it comes: the first line long before the command ends.
  request.command = {"sh", "-c", "echo out; echo err >&2; sleep 2; echo second"};
  Exec e = run(request, api);
  INFO(e.result.error);
  CHECK(e.result.ok);
  CHECK(e.result.exit_code == 0);
  CHECK(e.out == "out\nsecond\n");
  CHECK(e.err == "err\n");
  CHECK(e.took - e.first_output > 1s);

  request.command = {"sh", "-c", "exit 3"};
  e = run(request, api);
  CHECK(e.result.ok);
  CHECK(e.result.exit_code == 3);
  CHECK(e.result.error.empty());

  // v4 cannot say end-of-input: the command reads what it needs.
  request.command = {"head", "-n", "1"};
  request.stdin_data = "hello from stdin\n";
  e = run(request, api);
  CHECK(e.result.ok);
  CHECK(e.result.exit_code == 0);
  CHECK(e.out == "hello from stdin\n");
  request.stdin_data.clear();

  // Many frames, none lost.
  request.command = {"sh", "-c", "head -c 3000000 /dev/zero"};
  e = run(request, api);
  CHECK(e.result.ok);
  CHECK(e.out.size() == 3000000);

  // The query the API server received: argv as repeated command= parameters.
  std::string requests = api.requests();
  CHECK(requests.find(R"("command": ["sh", "-c", "exit 3"])") != std::string::npos);
  CHECK(requests.find(R"("stdin": ["true"])") != std::string::npos);
  CHECK(requests.find(R"("stdout": ["true"])") != std::string::npos);

  KubeExecRequest wrong_token = request;
  wrong_token.token = "not-the-token";
  wrong_token.command = {"true"};
  e = run(wrong_token, api);
  CHECK_FALSE(e.result.ok);
  CHECK(e.result.error == "exec handshake 127.0.0.1:" + std::to_string(api.port()) +
                              ": 401 Unauthorized: Unauthorized");

  KubeExecRequest wrong_container = request;
  wrong_container.container = "nope";
  wrong_container.command = {"true"};
  e = run(wrong_container, api);
  CHECK_FALSE(e.result.ok);
  CHECK(e.result.error.find("container nope is not valid for pod " + pod) != std::string::npos);

  KubeExecRequest no_pod = request;
  no_pod.pod = "absent";
  no_pod.command = {"true"};
  e = run(no_pod, api);
  CHECK_FALSE(e.result.ok);
  CHECK(e.result.error.find(R"(404 Not Found: pods "absent" not found)") != std::string::npos);

  INFO(api.log());
  CHECK(api.stop());
  CHECK(containers_of(pod).empty());  // deleted when the stand-in stopped
}

TEST_CASE("kube_exec speaks HTTPS with the service account CA") {
  if (!have_podman()) {
    WARN("podman or busybox is not installed: skipped");
    return;
  }
  ensure_image();
  const fs::path pki_dir =
      fs::temp_directory_path() / ("gantry-kube-pki-" + std::to_string(::getpid()));
  const auto pki = gantry::test::make_test_pki(pki_dir);
  const std::string pod = "kube-exec-tls-" + std::to_string(::getpid());
  StandIn api("https", pki.server_cert, pki.server_key);
  const std::string base = "https://127.0.0.1:" + std::to_string(api.port());
  TlsClientOptions tls;
  tls.ca_file = pki.ca;
  create_pod(api, base, tls, pod);

  KubeExecRequest request;
  request.api = base;
  request.tls = tls;
  request.token = api.token();
  request.kube_namespace = "default";
  request.pod = pod;
  request.container = "main";
  request.command = {"sh", "-c", "cat /etc/os-release; echo oops >&2; exit 5"};
  request.timeout = 10s;
  Exec e = run(request, api);
  INFO(e.result.error);
  CHECK(e.result.ok);
  CHECK(e.result.exit_code == 5);
  CHECK(e.out.find("ID=gantrytest") != std::string::npos);  // the image's, not the host's
  CHECK(e.err == "oops\n");

  request.command = {"head", "-c", "5"};
  request.stdin_data = "12345";
  e = run(request, api);
  CHECK(e.result.ok);
  CHECK(e.out == "12345");

  KubeExecRequest foreign = request;
  foreign.tls.ca_file = pki.other_ca;
  e = run(foreign, api);
  CHECK_FALSE(e.result.ok);
  CHECK(e.result.error.find("tls handshake 127.0.0.1:") == 0);

  INFO(api.log());
  CHECK(api.stop());
  CHECK(containers_of(pod).empty());
  fs::remove_all(pki_dir);
}
