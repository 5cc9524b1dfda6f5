#pragma once
// Test fixtures for GitCache: temp dirs, repositories made with the git CLI
// and a `git daemon` on 127.0.0.1. Helpers fail the running Catch2 test on
// error; nothing here is thread-safe.

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace gantry::git::test {

// The git CLI with a fixed identity, no signing and "main" as first branch.
inline constexpr const char* kGit =
    "git -c user.name=gantry -c user.email=gantry@example.com -c commit.gpgsign=false "
    "-c init.defaultBranch=main";

struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// Runs a shell command; returns its stdout without the trailing newline.
std::string sh(const std::string& cmd);

std::string slurp(const std::filesystem::path& p);

// A source repository with commits made on demand.
struct SourceRepo {
  std::filesystem::path dir;
  explicit SourceRepo(std::filesystem::path d);
  // Runs `kGit -C dir <args>`; returns its output.
  std::string git(const std::string& args) const;
  // Writes `file`, commits everything as "gantry"; returns the new SHA.
  std::string commit(const std::string& file, const std::string& text) const;
  // Commits the staged and unstaged changes with `env` ("NAME=value ...")
  // prefixed to the command; returns the new SHA.
  std::string commit_all(const std::string& message, const std::string& env = "") const;
  std::string head() const;
};

int free_port();

// `git daemon` serving `base` on 127.0.0.1; stopped by the destructor.
struct GitDaemon {
  pid_t pid = -1;
  int port = 0;
  explicit GitDaemon(const std::filesystem::path& base);
  ~GitDaemon();
  GitDaemon(const GitDaemon&) = delete;
  GitDaemon& operator=(const GitDaemon&) = delete;
};

}  // namespace gantry::git::test
