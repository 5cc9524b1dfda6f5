// GitCache against real repositories made with the git CLI: local paths,
// file:// and a git daemon on 127.0.0.1; fetch only when the commit is new.
#include "gantry/git/git_cache.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "git_fixture.hpp"

using gantry::git::CheckoutResult;
using gantry::git::GitCache;
using gantry::git::ReadResult;
using namespace gantry::git::test;
namespace fs = std::filesystem;

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
  CHECK(slurp(ws / "a.txt") == "one\n");
  CHECK(sh("git -C " + ws.string() + " rev-parse HEAD") == c1);
  CHECK(sh("git -C " + ws.string() + " rev-parse --abbrev-ref HEAD") == "HEAD");  // detached
  CHECK(sh("git -C " + ws.string() + " remote get-url origin") == url);
  CHECK(sh("git -C " + ws.string() + " status --porcelain") == "");

  const std::string c2 = src.commit("b.txt", "two\n");
  r = cache.checkout(url, c2, ws.string());
  REQUIRE(r.error == "");
  CHECK(r.fetched);
  CHECK(r.commit == c2);
  CHECK(slurp(ws / "b.txt") == "two\n");

  // Back to c1: already mirrored; a tracked edit is overwritten, a file only
  // in c2 goes away, an untracked file stays.
  std::ofstream(ws / "a.txt") << "local edit\n";
  std::ofstream(ws / "build.out") << "artifact\n";
  r = cache.checkout(url, c1, ws.string());
  REQUIRE(r.error == "");
  CHECK_FALSE(r.fetched);
  CHECK(slurp(ws / "a.txt") == "one\n");
  CHECK_FALSE(fs::exists(ws / "b.txt"));
  CHECK(slurp(ws / "build.out") == "artifact\n");
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
    CHECK(slurp(tmp.path / "ws2" / "b.txt") == "two\n");
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
  CHECK(slurp(tmp.path / "ws" / "b.txt") == "two\n");
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

TEST_CASE("read_file_at reads the mirror as it is, read_file fetches first", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  std::ofstream(src.dir / ".gantry.yml") << "v1\n";
  const std::string c1 =
      src.commit_all("pipeline", "GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.com");
  GitCache cache((tmp.path / "cache").string());
  const std::string url = src.dir.string();
  const std::vector<std::string> candidates = {"Jenkinsfile", ".gantry.yml"};

  ReadResult r = cache.read_file_at(url, "main", candidates);
  CHECK_FALSE(r.ok);
  CHECK(r.error == "read " + url + ": " + url + " has not been fetched yet");
  CHECK_FALSE(fs::exists(tmp.path / "cache"));  // a read creates no mirror

  REQUIRE(cache.fetch_refs(url).ok);
  r = cache.read_file_at(url, "main", candidates);
  REQUIRE(r.error == "");
  CHECK(r.ok);
  CHECK(r.commit == c1);
  CHECK(r.path == ".gantry.yml");
  CHECK(r.content == "v1\n");
  CHECK(r.author == "Ann");
  CHECK(r.author_email == "ann@example.com");

  // Pushed after the last fetch: not visible until fetch_refs.
  const std::string c2 = src.commit(".gantry.yml", "v2\n");
  r = cache.read_file_at(url, "main", candidates);
  CHECK(r.commit == c1);
  CHECK(r.content == "v1\n");
  r = cache.read_file_at(url, c2, candidates);
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("resolve " + c2 + " in " + url + ": ", 0) == 0);
  REQUIRE(cache.fetch_refs(url).downloaded);
  r = cache.read_file_at(url, "HEAD", candidates);
  CHECK(r.commit == c2);
  CHECK(r.content == "v2\n");
  CHECK(r.author == "gantry");
  CHECK(r.author_email == "gantry@example.com");
  CHECK(cache.read_file_at(url, c1, candidates).content == "v1\n");

  const std::string c3 = src.commit(".gantry.yml", "v3\n");
  r = cache.read_file(url, "main", candidates);
  CHECK(r.commit == c3);
  CHECK(r.content == "v3\n");

  r = cache.read_file_at(url, "main", {"Jenkinsfile"});
  CHECK_FALSE(r.ok);
  CHECK(r.error == "no Jenkinsfile in " + url + " at main (" + c3.substr(0, 12) + ")");
}

TEST_CASE("relative submodule URLs resolve against the parent's URL") {
  using gantry::git::resolve_submodule_url;
  CHECK(resolve_submodule_url("https://host/org/app.git", "../lib.git") ==
        "https://host/org/lib.git");
  CHECK(resolve_submodule_url("https://host/org/app.git/", "./sub") ==
        "https://host/org/app.git/sub");
  CHECK(resolve_submodule_url("https://host/org/app", "../../other/lib") ==
        "https://host/other/lib");
  CHECK(resolve_submodule_url("git@host:org/app.git", "../lib.git") == "git@host:org/lib.git");
  CHECK(resolve_submodule_url("git@host:app.git", "../lib.git") == "git@host:lib.git");
  CHECK(resolve_submodule_url("/srv/git/app", "../lib") == "/srv/git/lib");
  CHECK(resolve_submodule_url("/srv/git/app", "https://x/y.git") == "https://x/y.git");
}
