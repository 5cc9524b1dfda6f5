// The agent's retention policy: which workspaces and mirrors go, and the
// Trash that removes them off the event loop. Real directories.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent_config.hpp"
#include "job_test_support.hpp"
#include "retention.hpp"
#include "trash.hpp"

using namespace gantry::agent;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("stale_workspaces keeps the newest per job, those in use, and what is not a key") {
  std::vector<std::string> names = {"app-1",    "app-2",   "app-10", "lib-3", "my-app-4",
                                    "my-app-7", "scratch", "odd-",   "x-1a"};
  CHECK(sorted(stale_workspaces(names, 1, {})) ==
        std::vector<std::string>{"app-1", "app-2", "my-app-4"});
  CHECK(sorted(stale_workspaces(names, 2, {})) == std::vector<std::string>{"app-1"});
  CHECK(sorted(stale_workspaces(names, 1, {"app-2"})) ==
        std::vector<std::string>{"app-1", "my-app-4"});
  CHECK(sorted(stale_workspaces(names, 0, {"app-10"})) ==
        std::vector<std::string>{"app-1", "app-2", "lib-3", "my-app-4", "my-app-7"});
}

TEST_CASE("stale_workspaces takes a run's parallel and temp workspaces along with it") {
  std::vector<std::string> names = {"app-1",       "app-1@2", "app-1@tmp",
                                    "app-1@2@tmp", "app-2",   "app-2@2"};
  CHECK(sorted(stale_workspaces(names, 1, {})) ==
        std::vector<std::string>{"app-1", "app-1@2", "app-1@2@tmp", "app-1@tmp"});
  CHECK(sorted(stale_workspaces(names, 0, {"app-2@2"})) ==
        std::vector<std::string>{"app-1", "app-1@2", "app-1@2@tmp", "app-1@tmp", "app-2"});
}

TEST_CASE("stale_mirrors goes by the last use, which a checkout's alternates refresh") {
  gantry::testing::TempDir tmp;
  fs::path mirrors = tmp.path() / "mirrors";
  fs::create_directories(mirrors / "aaa" / "objects");
  fs::create_directories(mirrors / "bbb" / "objects");
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(24 * 20);
  fs::last_write_time(mirrors / "aaa", old);
  fs::last_write_time(mirrors / "bbb", old);
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(24 * 14);
  CHECK(stale_mirrors(mirrors.string(), cutoff).size() == 2);

  // A workspace borrowing bbb's objects was checked out: bbb is in use.
  fs::path ws = tmp.path() / "workspace" / "app-1";
  fs::create_directories(ws / ".git" / "objects" / "info");
  std::ofstream(ws / ".git" / "objects" / "info" / "alternates")
      << (mirrors / "bbb" / "objects").string() << "\n";
  note_mirror_use(ws.string(), mirrors.string());
  CHECK(stale_mirrors(mirrors.string(), cutoff) ==
        std::vector<std::string>{(mirrors / "aaa").string()});
  // Not a mirror of ours: untouched.
  std::ofstream(ws / ".git" / "objects" / "info" / "alternates") << "/usr/share/objects\n";
  note_mirror_use(ws.string(), mirrors.string());
}

TEST_CASE("Trash: discard moves at once, empty_later deletes on its own thread") {
  gantry::testing::TempDir tmp;
  fs::path state = tmp.path() / "state";
  fs::create_directories(tmp.path() / "ws" / "a" / "deep");
  std::ofstream(tmp.path() / "ws" / "a" / "deep" / "f") << "x";
  fs::create_directories(tmp.path() / "ws" / "a2");
  {
    Trash trash(state.string());
    trash.discard((tmp.path() / "ws" / "a").string());
    trash.discard((tmp.path() / "ws" / "a2").string());
    CHECK_FALSE(fs::exists(tmp.path() / "ws" / "a"));
    CHECK(std::distance(fs::directory_iterator(state / "trash"), fs::directory_iterator()) == 2);
    trash.empty_later();
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!fs::is_empty(state / "trash") && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(fs::is_empty(state / "trash"));
  }
  // A trash left by a crash is emptied by the next process.
  fs::create_directories(state / "trash" / "left.1" / "x");
  {
    Trash trash(state.string());
    trash.empty_now();
  }
  CHECK(fs::is_empty(state / "trash"));
}

TEST_CASE("keep_workspaces and mirror_max_age: config keys and flags") {
  AgentConfig config;
  CHECK(config.keep_workspaces == 1);
  CHECK(config.mirror_max_age == std::chrono::hours(24 * 14));
  std::string error;
  bool help = false, version = false;
  REQUIRE(parse_agent_args({"--token", "t", "--keep-workspaces", "3", "--mirror-max-age", "12h"},
                           config, error, help, version));
  CHECK(config.keep_workspaces == 3);
  CHECK(config.mirror_max_age == std::chrono::hours(12));
  REQUIRE(
      parse_agent_args({"--token", "t", "--mirror-max-age", "0"}, config, error, help, version));
  CHECK(config.mirror_max_age.count() == 0);
  CHECK_FALSE(
      parse_agent_args({"--token", "t", "--mirror-max-age", "14"}, config, error, help, version));
  CHECK(error.find("--mirror-max-age") == 0);
  CHECK_FALSE(
      parse_agent_args({"--token", "t", "--keep-workspaces", "-1"}, config, error, help, version));

  gantry::testing::TempDir tmp;
  std::string path = (tmp.path() / "agent.yml").string();
  std::ofstream(path) << "token: t\nkeep_workspaces: 2\nmirror_max_age: 30d\n";
  AgentConfig from_file;
  REQUIRE(load_agent_config(path, from_file, error));
  CHECK(from_file.keep_workspaces == 2);
  CHECK(from_file.mirror_max_age == std::chrono::hours(24 * 30));
  std::ofstream(path) << "mirror_max_age: soon\n";
  CHECK_FALSE(load_agent_config(path, from_file, error));
  CHECK(error == path +
                     ":1:17: error: mirror_max_age must be an age like 14d, 12h, 30m or 90s "
                     "(0: keep mirrors forever)");
}
