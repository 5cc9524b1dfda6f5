#pragma once
// Test support: one of the Python servers beside this header (smtp_server.py, hook_receiver.py)
// as a child process on 127.0.0.1 and a free port. Started by the constructor with a state
// directory of its own (the script writes `port` there once it listens, and its records);
// stopped with SIGTERM, then SIGKILL, by the destructor. Debian's /usr/bin/python3 runs it
// (python3-aiosmtpd is a Debian package; `python3` on PATH may be another interpreter).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gantry::test {

class PyServer {
 public:
  // `script`: a file name beside this header; `args` follow --state-dir DIR.
  PyServer(const std::string& script, const std::string& name, std::vector<std::string> args = {})
      : dir_(std::filesystem::temp_directory_path() /
             ("gantry-py-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    const std::string path = (std::filesystem::path(__FILE__).parent_path() / script).string();
    std::vector<std::string> all = {"/usr/bin/python3", path, "--state-dir", dir_.string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "server.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + path);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(dir_ / "port");
      int p = 0;
      if (in >> p) port_ = p;
      if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (port_ == 0) {
      stop();
      throw std::runtime_error(script + " did not start: " + read("server.log"));
    }
  }
  ~PyServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  PyServer(const PyServer&) = delete;
  PyServer& operator=(const PyServer&) = delete;

  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  // A file of the state directory ("" when absent).
  std::string read(const std::string& name) const {
    std::ifstream in(dir_ / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // The file's lines once it has at least `n` of them, or what it has after `timeout`.
  std::vector<std::string> wait_lines(const std::string& name, size_t n,
                                      std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::string> lines;
    for (;;) {
      lines.clear();
      std::ifstream in(dir_ / name);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
      }
      if (lines.size() >= n || std::chrono::steady_clock::now() >= deadline) return lines;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }

  std::filesystem::path dir_;
  pid_t pid_ = 0;
  int port_ = 0;
};

}  // namespace gantry::test
