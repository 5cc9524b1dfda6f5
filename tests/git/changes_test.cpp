// GitCache::changes against real repositories: the commits between two
// builds, newest first, with their people and the paths they touched.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gantry/git/git_cache.hpp"
#include "git_fixture.hpp"

using gantry::git::ChangeSet;
using gantry::git::GitCache;
using namespace gantry::git::test;
namespace fs = std::filesystem;

namespace {

using Paths = std::vector<std::string>;

constexpr const char* kAnn =
    "GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.com GIT_AUTHOR_DATE='1600000000 +0000' "
    "GIT_COMMITTER_NAME=Carl GIT_COMMITTER_EMAIL=carl@example.com "
    "GIT_COMMITTER_DATE='1704164645 +0000'";
constexpr const char* kBob =
    "GIT_AUTHOR_NAME='Bob B' GIT_AUTHOR_EMAIL=bob@example.com "
    "GIT_COMMITTER_NAME=Dora GIT_COMMITTER_EMAIL=dora@example.com "
    "GIT_COMMITTER_DATE='1704164700 +0000'";

std::vector<std::string> shas(const ChangeSet& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs.commits) out.push_back(c.sha);
  return out;
}

}  // namespace

TEST_CASE("changes lists commits newest first with people and paths", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  std::ofstream(src.dir / "a.txt") << "alpha\nbeta\ngamma\n";
  std::ofstream(src.dir / "b.txt") << "bee\n";
  const std::string c1 = src.commit_all("first\n\nwith a body", kAnn);
  std::ofstream(src.dir / "c.txt") << "sea\n";
  fs::remove(src.dir / "b.txt");
  const std::string c2 = src.commit_all("add c, drop b", kBob);
  fs::create_directories(src.dir / "docs");
  src.git("mv a.txt docs/a.md");
  std::ofstream(src.dir / "c.txt") << "sea\nmore\n";
  const std::string c3 = src.commit_all("move a, edit c", kAnn);
  GitCache cache((tmp.path / "cache").string());
  const std::string url = src.dir.string();

  ChangeSet cs = cache.changes(url, c1, c3);
  CHECK_FALSE(cs.ok);
  CHECK(cs.error == "changes " + url + ": " + url + " has not been fetched yet");
  REQUIRE(cache.fetch_refs(url).ok);

  cs = cache.changes(url, c1, c3);
  REQUIRE(cs.error == "");
  CHECK(cs.ok);
  CHECK(cs.from_known);
  CHECK_FALSE(cs.truncated);
  REQUIRE(shas(cs) == std::vector<std::string>{c3, c2});
  const auto& moved = cs.commits[0];
  CHECK(moved.author_name == "Ann");
  CHECK(moved.author_email == "ann@example.com");
  CHECK(moved.committer_name == "Carl");
  CHECK(moved.committer_email == "carl@example.com");
  CHECK(moved.message == "move a, edit c\n");
  CHECK(moved.time == 1704164645);                             // committer time, not author time
  CHECK(moved.paths == Paths{"a.txt", "c.txt", "docs/a.md"});  // both names of the rename
  const auto& dropped = cs.commits[1];
  CHECK(dropped.author_name == "Bob B");
  CHECK(dropped.author_email == "bob@example.com");
  CHECK(dropped.committer_name == "Dora");
  CHECK(dropped.committer_email == "dora@example.com");
  CHECK(dropped.time == 1704164700);
  CHECK(dropped.paths == Paths{"b.txt", "c.txt"});  // a deletion and an addition

  SECTION("a root commit lists all its files") {
    cs = cache.changes(url, "", c1);
    REQUIRE(cs.ok);
    CHECK_FALSE(cs.from_known);
    REQUIRE(shas(cs) == std::vector<std::string>{c1});
    CHECK(cs.commits[0].message == "first\n\nwith a body\n");
    CHECK(cs.commits[0].paths == Paths{"a.txt", "b.txt"});
  }
  SECTION("an unknown base gives just the target") {
    cs = cache.changes(url, std::string(40, 'e'), c3);
    REQUIRE(cs.ok);
    CHECK_FALSE(cs.from_known);
    CHECK(shas(cs) == std::vector<std::string>{c3});
    cs = cache.changes(url, "", c2);
    REQUIRE(cs.ok);
    CHECK(shas(cs) == std::vector<std::string>{c2});
  }
  SECTION("an empty range") {
    cs = cache.changes(url, c2, c2);
    REQUIRE(cs.ok);
    CHECK(cs.from_known);
    CHECK(cs.commits.empty());
    CHECK_FALSE(cs.truncated);
  }
  SECTION("a target the mirror lacks is an error") {
    cs = cache.changes(url, c1, std::string(40, 'd'));
    CHECK_FALSE(cs.ok);
    CHECK(cs.error.rfind("resolve " + std::string(40, 'd') + " in " + url + ": ", 0) == 0);
  }
}

TEST_CASE("changes after a force-push is git's from..to", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string c1 = src.commit("a.txt", "one\n");
  src.commit("b.txt", "two\n");
  const std::string c3 = src.commit("c.txt", "three\n");
  GitCache cache((tmp.path / "cache").string());
  const std::string url = src.dir.string();
  REQUIRE(cache.fetch_refs(url).ok);

  src.git("reset -q --hard " + c1);
  const std::string d1 = src.commit("d.txt", "four\n");
  const std::string d2 = src.commit("e.txt", "five\n");
  REQUIRE(cache.fetch_refs(url).downloaded);

  // c3 is no longer on any branch but still in the mirror's objects.
  ChangeSet cs = cache.changes(url, c3, d2);
  REQUIRE(cs.error == "");
  CHECK(cs.from_known);
  CHECK(shas(cs) == std::vector<std::string>{d2, d1});
  CHECK(cs.commits[0].paths == Paths{"e.txt"});
  CHECK(cs.commits[1].paths == Paths{"d.txt"});
}

TEST_CASE("changes are bounded in commits and paths", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  for (int i = 0; i < 1005; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "f%04d.txt", i);
    std::ofstream(src.dir / name) << i << "\n";
  }
  const std::string root = src.commit_all("many files");
  std::vector<std::string> commits;
  commits.reserve(5);
  for (int i = 0; i < 5; ++i) commits.push_back(src.commit("n.txt", std::to_string(i)));
  GitCache cache((tmp.path / "cache").string());
  const std::string url = src.dir.string();
  REQUIRE(cache.fetch_refs(url).ok);

  ChangeSet cs = cache.changes(url, root, commits[4], 3);
  REQUIRE(cs.ok);
  CHECK(cs.truncated);
  CHECK(shas(cs) == std::vector<std::string>{commits[4], commits[3], commits[2]});
  cs = cache.changes(url, root, commits[4], 5);
  REQUIRE(cs.ok);
  CHECK_FALSE(cs.truncated);
  CHECK(cs.commits.size() == 5);

  cs = cache.changes(url, "", root);
  REQUIRE(cs.ok);
  CHECK(cs.truncated);
  REQUIRE(cs.commits.size() == 1);
  REQUIRE(cs.commits[0].paths.size() == gantry::git::kMaxChangedPaths);
  CHECK(cs.commits[0].paths.front() == "f0000.txt");
  CHECK(cs.commits[0].paths.back() == "f0999.txt");
}

TEST_CASE("unshipped is everything no shipped commit reaches, with no silent cap", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string root = src.commit("a.txt", "1\n");
  std::ofstream(src.dir / "a.txt") << "2\n";
  const std::string rosa =
      src.commit_all("by rosa", "GIT_AUTHOR_NAME=Rosa GIT_AUTHOR_EMAIL=rosa@example.com");
  const std::string shipped = src.commit("a.txt", "3\n");
  src.git("checkout -q -b feature");
  const std::string f1 = src.commit("b.txt", "1\n");
  const std::string f2 = src.commit("b.txt", "2\n");
  GitCache cache((tmp.path / "cache").string());
  const std::string url = src.dir.string();
  REQUIRE(cache.fetch_refs(url).ok);

  // No release yet: the whole history of the head, not the head alone.
  gantry::git::UnshippedRange r = cache.unshipped(url, f2, {}, 100);
  REQUIRE(r.ok);
  REQUIRE(r.commits.size() == 5);
  CHECK(r.commits[0].sha == f2);
  CHECK(r.commits[3].sha == rosa);
  CHECK(r.commits[3].author_email == "rosa@example.com");
  CHECK(r.commits[3].paths.empty());
  CHECK_FALSE(r.too_long);

  // Since a release: only what it did not ship.
  r = cache.unshipped(url, f2, {shipped}, 100);
  REQUIRE(r.ok);
  CHECK(r.commits.size() == 2);
  CHECK_FALSE(r.behind);

  // One more than the limit: too long, never a quiet cut.
  r = cache.unshipped(url, f2, {}, 4);
  REQUIRE(r.ok);
  CHECK(r.too_long);
  CHECK(r.commits.size() == 4);
  r = cache.unshipped(url, f2, {}, 5);
  CHECK_FALSE(r.too_long);

  // A release the mirror does not have hides nothing and is named.
  const std::string gone(40, 'e');
  r = cache.unshipped(url, f2, {gone, shipped}, 100);
  REQUIRE(r.ok);
  CHECK(r.missing == std::vector<std::string>{gone});
  CHECK(r.commits.size() == 2);

  // A commit the current release already contains is behind it.
  r = cache.unshipped(url, rosa, {f1}, 100);
  REQUIRE(r.ok);
  CHECK(r.behind);
  CHECK(r.commits.empty());
  r = cache.unshipped(url, f1, {f1}, 100);
  CHECK_FALSE(r.behind);
  (void)root;
}
