#include "git_fixture.hpp"

#include "../git_daemon_path.hpp"

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
#include <fstream>
#include <thread>
#include <vector>

extern char** environ;

namespace gantry::git::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "gantry-git-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

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

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

SourceRepo::SourceRepo(fs::path d) : dir(std::move(d)) {
  sh(std::string(kGit) + " init -q " + dir.string());
}

std::string SourceRepo::git(const std::string& args) const {
  return sh(std::string(kGit) + " -C " + dir.string() + " " + args);
}

std::string SourceRepo::commit(const std::string& file, const std::string& text) const {
  fs::create_directories((dir / file).parent_path());
  std::ofstream(dir / file) << text;
  return commit_all(file);
}

std::string SourceRepo::commit_all(const std::string& message, const std::string& env) const {
  git("add -A");
  sh(env + " " + kGit + " -C " + dir.string() + " commit -q --allow-empty -m '" + message + "'");
  return head();
}

std::string SourceRepo::head() const {
  return git("rev-parse HEAD");
}

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

namespace {

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

}  // namespace

GitDaemon::GitDaemon(const fs::path& base) {
  port = free_port();
  std::vector<std::string> args = {gantry::testing::git_daemon_path(),
                                   "--reuseaddr",
                                   "--base-path=" + base.string(),
                                   "--export-all",
                                   "--listen=127.0.0.1",
                                   "--port=" + std::to_string(port),
                                   base.string()};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  int rc = ::posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  bool up = false;
  bool exited = false;
  while (!(up = port_open(port))) {
    int status = 0;
    exited = ::waitpid(pid, &status, WNOHANG) != 0;
    if (exited || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  if (!up && !exited) {
    // A throwing constructor runs no destructor: stop the daemon here.
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  REQUIRE(up);
}

GitDaemon::~GitDaemon() {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace gantry::git::test
