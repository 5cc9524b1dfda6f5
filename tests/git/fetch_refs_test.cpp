// GitCache::fetch_refs against real repositories: what the mirror holds after
// a poll, and that an unchanged remote costs no fetch.
#include <catch2/catch.hpp>
#include <filesystem>
#include <utility>
#include <vector>

#include "gantry/git/git_cache.hpp"
#include "git_fixture.hpp"

using gantry::git::FetchResult;
using gantry::git::GitCache;
using namespace gantry::git::test;
namespace fs = std::filesystem;

namespace {

using Heads = std::vector<std::pair<std::string, std::string>>;

Heads heads_of(const FetchResult& r) {
  Heads out;
  for (const auto& h : r.heads) out.emplace_back(h.name, h.commit);
  return out;
}

}  // namespace

TEST_CASE("fetch_refs follows branches and tags, fetching only on change", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string c1 = src.commit("a.txt", "one\n");
  src.git("tag light");
  src.git("tag -a v1.0 -m v1.0");
  src.git("tag tree-tag HEAD^{tree}");  // not a commit: left out
  GitCache cache((tmp.path / "cache").string());
  const std::string url = GENERATE(as<std::string>{}, "", "file://");
  const std::string full = url + src.dir.string();

  FetchResult r = cache.fetch_refs(full);
  REQUIRE(r.error == "");
  CHECK(r.ok);
  CHECK(r.downloaded);
  CHECK(r.default_branch == "refs/heads/main");
  CHECK(heads_of(r) ==
        Heads{{"refs/heads/main", c1}, {"refs/tags/light", c1}, {"refs/tags/v1.0", c1}});

  r = cache.fetch_refs(full);
  REQUIRE(r.error == "");
  CHECK_FALSE(r.downloaded);
  CHECK(r.default_branch == "refs/heads/main");
  CHECK(r.heads.size() == 3);

  // A new commit and a new branch.
  const std::string c2 = src.commit("b.txt", "two\n");
  src.git("checkout -q -b feature");
  const std::string f1 = src.commit("f.txt", "feature\n");
  src.git("checkout -q main");
  r = cache.fetch_refs(full);
  REQUIRE(r.error == "");
  CHECK(r.downloaded);
  CHECK(heads_of(r) == Heads{{"refs/heads/feature", f1},
                             {"refs/heads/main", c2},
                             {"refs/tags/light", c1},
                             {"refs/tags/v1.0", c1}});

  // A deleted branch and tag vanish; a force-push is taken; a new annotated
  // tag is peeled.
  src.git("branch -D feature");
  src.git("tag -d light");
  src.git("reset -q --hard " + c1);
  const std::string c3 = src.commit("c.txt", "three\n");
  src.git("tag -a v2.0 -m v2.0");
  r = cache.fetch_refs(full);
  REQUIRE(r.error == "");
  CHECK(r.downloaded);
  CHECK(heads_of(r) ==
        Heads{{"refs/heads/main", c3}, {"refs/tags/v1.0", c1}, {"refs/tags/v2.0", c3}});

  r = cache.fetch_refs(full);
  REQUIRE(r.error == "");
  CHECK_FALSE(r.downloaded);
  CHECK(heads_of(r) ==
        Heads{{"refs/heads/main", c3}, {"refs/tags/v1.0", c1}, {"refs/tags/v2.0", c3}});
}

TEST_CASE("fetch_refs over git:// from a git daemon", "[git]") {
  TempDir tmp;
  SourceRepo src(tmp.path / "src");
  const std::string c1 = src.commit("a.txt", "one\n");
  src.git("tag -a v1.0 -m v1.0");
  src.git("tag tree-tag HEAD^{tree}");
  GitDaemon daemon(tmp.path);
  GitCache cache((tmp.path / "cache").string());
  const std::string url = "git://127.0.0.1:" + std::to_string(daemon.port) + "/src";

  FetchResult r = cache.fetch_refs(url);
  REQUIRE(r.error == "");
  CHECK(r.downloaded);
  CHECK(r.default_branch == "refs/heads/main");
  CHECK(heads_of(r) == Heads{{"refs/heads/main", c1}, {"refs/tags/v1.0", c1}});

  r = cache.fetch_refs(url);
  REQUIRE(r.error == "");
  CHECK_FALSE(r.downloaded);

  const std::string c2 = src.commit("b.txt", "two\n");
  src.git("checkout -q -b next");
  r = cache.fetch_refs(url);
  REQUIRE(r.error == "");
  CHECK(r.downloaded);
  CHECK(heads_of(r) ==
        Heads{{"refs/heads/main", c2}, {"refs/heads/next", c2}, {"refs/tags/v1.0", c1}});
}

TEST_CASE("fetch_refs errors say what was being done", "[git]") {
  TempDir tmp;
  GitCache cache((tmp.path / "cache").string());

  FetchResult r = cache.fetch_refs("file:///nonexistent/gantry-repo");
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("fetch file:///nonexistent/gantry-repo: ", 0) == 0);
  CHECK(r.error.size() > std::string("fetch file:///nonexistent/gantry-repo: ").size());

  r = cache.fetch_refs((tmp.path / "missing").string());
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("fetch " + (tmp.path / "missing").string() + ": ", 0) == 0);

  r = cache.fetch_refs("");
  CHECK_FALSE(r.ok);
  CHECK(r.error == "fetch: a repository URL is required");

  // An empty remote is fine: nothing to list, nothing to fetch.
  SourceRepo empty(tmp.path / "empty");
  r = cache.fetch_refs(empty.dir.string());
  REQUIRE(r.error == "");
  CHECK(r.heads.empty());
  CHECK_FALSE(r.downloaded);
}
