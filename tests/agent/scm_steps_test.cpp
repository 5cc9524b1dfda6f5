// The pure parts of the source steps: branch names as Jenkins writes them, and what cleanWs
// selects (and deletes, never through a symbolic link).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "job_test_support.hpp"
#include "runner/step_runner.hpp"
#include "runner/workspace_clean.hpp"

using gantry::agent::clean_selection;
using gantry::agent::clean_workspace;
using gantry::agent::CleanEntry;
using gantry::agent::CleanPattern;
using gantry::agent::jenkins_branch;
namespace fs = std::filesystem;

TEST_CASE("jenkins_branch strips the remote as Jenkins writes it", "[scm]") {
  CHECK(jenkins_branch("*/main") == "main");
  CHECK(jenkins_branch("origin/release/1.x") == "release/1.x");
  CHECK(jenkins_branch("refs/remotes/origin/dev") == "dev");
  CHECK(jenkins_branch("remotes/origin/dev") == "dev");
  CHECK(jenkins_branch(" feature ") == "feature");
  CHECK(jenkins_branch("refs/heads/x") == "refs/heads/x");
  CHECK(jenkins_branch("refs/tags/v1.0") == "refs/tags/v1.0");
  CHECK(jenkins_branch("v1.0") == "v1.0");
  CHECK(jenkins_branch("0123456789abcdef0123456789abcdef01234567") ==
        "0123456789abcdef0123456789abcdef01234567");
  CHECK(jenkins_branch("") == "master");
  CHECK(jenkins_branch("*/") == "*/");  // nothing after the prefix: left for the step to refuse
}

namespace {

const std::vector<CleanEntry> kTree = {
    {".git", true},   {".git/HEAD", false},      {"a.log", false},
    {"src", true},    {"src/main.c", false},     {"src/x.log", false},
    {"target", true}, {"target/app.jar", false}, {"target/keep.txt", false},
    {"m", true},      {"m/target", true},        {"m/target/out.o", false},
    {"notes", false},
};

}  // namespace

TEST_CASE("clean_selection: INCLUDE selects, EXCLUDE protects, dirs only with deleteDirs",
          "[scm]") {
  using V = std::vector<std::string>;
  CHECK(clean_selection(kTree, {{"**/*.log", false}}, false) == V{"a.log", "src/x.log"});
  CHECK(clean_selection(kTree, {{"**/target/**", false}}, false) ==
        V{"target/app.jar", "target/keep.txt", "m/target/out.o"});
  // A directory goes whole, and what is below it with it.
  CHECK(clean_selection(kTree, {{"**/target/**", false}}, true) == V{"target", "m/target"});
  // ... unless something below it is protected.
  CHECK(clean_selection(kTree, {{"**/target/**", false}, {"**/keep.txt", true}}, true) ==
        V{"target/app.jar", "m/target"});
  // Only EXCLUDE patterns: everything else.
  CHECK(clean_selection(kTree, {{".git/**", true}}, true) ==
        V{"a.log", "src", "target", "m", "notes"});
  CHECK(clean_selection(kTree, {{".git/**", true}}, false) == V{"a.log", "src/main.c", "src/x.log",
                                                                "target/app.jar", "target/keep.txt",
                                                                "m/target/out.o", "notes"});
}

TEST_CASE("clean_workspace never follows a symbolic link out of the workspace", "[scm]") {
  gantry::testing::TempDir ws, outside;
  std::ofstream(outside.path() / "precious.log") << "x";
  fs::create_directories(ws.path() / "sub");
  std::ofstream(ws.path() / "sub" / "a.log") << "x";
  std::ofstream(ws.path() / ".env") << "x";
  fs::create_directory_symlink(outside.path(), ws.path() / "link");
  size_t removed = 0;
  std::string error;
  REQUIRE(clean_workspace(ws.str(), {{"**/*.log", false}}, true, removed, error));
  CHECK(removed == 1);
  CHECK(!fs::exists(ws.path() / "sub" / "a.log"));
  CHECK(fs::exists(outside.path() / "precious.log"));
  REQUIRE(clean_workspace(ws.str(), {}, false, removed, error));
  CHECK(removed == 3);  // sub, .env and the link itself
  CHECK(fs::is_empty(ws.path()));
  CHECK(fs::exists(outside.path() / "precious.log"));
}
