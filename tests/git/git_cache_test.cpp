// GitCache against real repositories made with the git CLI: local paths,
// file:// and a git daemon on 127.0.0.1; fetch only when the commit is new.
#include "gantry/git/git_cache.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

using gantry::git::CheckoutResult;
using gantry::git::GitCache;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

extern char** environ;

namespace {

constexpr const char* kGit =
    "git -c user.name=gantry -c user.email=gantry@example.com -c commit.gpgsign=false "
    "-c init.defaultBranch=main";

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gantry-git-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs a shell command; returns its stdout without the trailing newline.
std::string sh(const std::string& cmd) {
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = ::pclose(f);
  INFO(cmd << "\n" << out);
  REQUIRE(status == 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A source repository with commits made on demand.
struct SourceRepo {
  fs::path dir;
  explicit SourceRepo(fs::path d) : dir(std::move(d)) {
    sh(std::string(kGit) + " init -q " + dir.string());
  }
  std::string commit(const std::string& file, const std::string& text) {
    std::ofstream(dir / file) << text;
    sh(std::string(kGit) + " -C " + dir.string() + " add -A");
    sh(std::string(kGit) + " -C " + dir.string() + " commit -q -m '" + file + "'");
    return sh("git -C " + dir.string() + " rev-parse HEAD");
  }
};

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// `git daemon` serving `base` on 127.0.0.1; stopped by the destructor.
struct GitDaemon {
  pid_t pid = -1;
  int port = 0;
  explicit GitDaemon(const fs::path& base) {
    port = free_port();
    std::vector<std::string> args = {"git",
                                     "daemon",
                                     "--reuseaddr",
                                     "--base-path=" + base.string(),
                                     "--export-all",
                                     "--listen=127.0.0.1",
                                     "--port=" + std::to_string(port),
                                     base.string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    int rc = ::posix_spawnp(&pid, "git", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!port_open(port)) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, WNOHANG) == 0);  // still starting, not dead
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(50ms);
    }
  }
  ~GitDaemon() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

}  // namespace

TEST_CASE("checkout fetches only commits the mirror lacks", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string c1 = src.commit("a.txt", "one\n");
  sh("git -C " + src.dir.string() + " tag -a v1.0 -m v1.0");
  GitCache cache((tmp.path / "cache").string());
  const fs::path ws = tmp.path / "ws";
  const std::string url = src.dir.string();

  CheckoutResult r = cache.checkout(url, c1, ws.string());
  REQUIRE(r.error == "");
  CHECK(r.ok);
  CHECK(r.fetched);
  CHECK(r.commit == c1);
  CHECK(read_file(ws / "a.txt") == "one\n");
  CHECK(sh("git -C " + ws.string() + " rev-parse HEAD") == c1);
  CHECK(sh("git -C " + ws.string() + " rev-parse --abbrev-ref HEAD") == "HEAD");  // detached
  CHECK(sh("git -C " + ws.string() + " remote get-url origin") == url);
  CHECK(sh("git -C " + ws.string() + " status --porcelain") == "");

  const std::string c2 = src.commit("b.txt", "two\n");
  r = cache.checkout(url, c2, ws.string());
  REQUIRE(r.error == "");
  CHECK(r.fetched);
  CHECK(r.commit == c2);
  CHECK(read_file(ws / "b.txt") == "two\n");

  // Back to c1: already mirrored; a tracked edit is overwritten, a file only
  // in c2 goes away, an untracked file stays.
  std::ofstream(ws / "a.txt") << "local edit\n";
  std::ofstream(ws / "build.out") << "artifact\n";
  r = cache.checkout(url, c1, ws.string());
  REQUIRE(r.error == "");
  CHECK_FALSE(r.fetched);
  CHECK(read_file(ws / "a.txt") == "one\n");
  CHECK_FALSE(fs::exists(ws / "b.txt"));
  CHECK(read_file(ws / "build.out") == "artifact\n");
  CHECK(sh("git -C " + ws.string() + " status --porcelain") == "?? build.out");

  SECTION("ref names are fetched, then resolved") {
    r = cache.checkout(url, "main", ws.string());
    CHECK(r.fetched);
    CHECK(r.commit == c2);
    CHECK(cache.checkout(url, "refs/heads/main", ws.string()).commit == c2);
    CHECK(cache.checkout(url, "v1.0", ws.string()).commit == c1);  // annotated tag, peeled
    CHECK(cache.checkout(url, "HEAD", ws.string()).commit == c2);
  }
  SECTION("file:// URLs get their own mirror") {
    r = cache.checkout("file://" + url, c2, (tmp.path / "ws2").string());
    REQUIRE(r.error == "");
    CHECK(r.fetched);
    CHECK(read_file(tmp.path / "ws2" / "b.txt") == "two\n");
    CHECK(sh("git -C " + (tmp.path / "ws2").string() + " remote get-url origin") ==
          "file://" + url);
  }
}

TEST_CASE("checkout errors say what was being done", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  src.commit("a.txt", "one\n");
  GitCache cache((tmp.path / "cache").string());
  const std::string ws = (tmp.path / "ws").string();

  CheckoutResult r = cache.checkout("file:///nonexistent/gantry-repo", "main", ws);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
  CHECK(r.error.rfind("fetch file:///nonexistent/gantry-repo: ", 0) == 0);

  r = cache.checkout(src.dir.string(), std::string(40, 'e'), ws);
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("resolve " + std::string(40, 'e') + " in " + src.dir.string() + ": ", 0) ==
        0);

  r = cache.checkout(src.dir.string(), "no-such-branch", ws);
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("resolve no-such-branch in ", 0) == 0);

  r = cache.checkout("", "main", ws);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
}

TEST_CASE("checkout over git:// from a git daemon", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  src.commit("a.txt", "one\n");
  const std::string c2 = src.commit("b.txt", "two\n");
  GitDaemon daemon(tmp.path);
  GitCache cache((tmp.path / "cache").string());
  const std::string url = "git://127.0.0.1:" + std::to_string(daemon.port) + "/src";

  CheckoutResult r = cache.checkout(url, c2, (tmp.path / "ws").string());
  REQUIRE(r.error == "");
  CHECK(r.fetched);
  CHECK(read_file(tmp.path / "ws" / "b.txt") == "two\n");
  r = cache.checkout(url, c2, (tmp.path / "ws").string());
  CHECK(r.ok);
  CHECK_FALSE(r.fetched);
}

TEST_CASE("concurrent checkouts of one URL share the mirror safely", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string c1 = src.commit("a.txt", "one\n");
  GitCache cache((tmp.path / "cache").string());
  std::vector<CheckoutResult> results(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          cache.checkout(src.dir.string(), c1, (tmp.path / ("ws" + std::to_string(i))).string());
    });
  }
  for (auto& t : threads) t.join();
  int fetched = 0;
  for (const auto& r : results) {
    CHECK(r.ok);
    CHECK(r.commit == c1);
    fetched += r.fetched ? 1 : 0;
  }
  CHECK(fetched == 1);  // the others found the commit already mirrored
}
