#include "runner/ant_glob.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace gantry::agent;
namespace fs = std::filesystem;

namespace {

// A temporary directory tree, removed at the end of the test.
struct Tree {
  fs::path root;
  Tree() {
    root = fs::temp_directory_path() /
           ("gantry-glob-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  void file(const std::string& rel) {
    fs::create_directories((root / rel).parent_path());
    std::ofstream(root / rel) << rel;
  }
  std::vector<std::string> glob(const std::string& includes, const std::string& excludes = "",
                                bool default_excludes = true) {
    std::vector<std::string> out;
    std::string error;
    GlobOptions options{includes, excludes, default_excludes, true};
    REQUIRE(ant_glob(root.string(), options, out, error));
    return out;
  }
};

using Files = std::vector<std::string>;

}  // namespace

TEST_CASE("ant_match: * stays in a segment, ** spans segments", "[ant_glob]") {
  CHECK(ant_match("*.xml", "a.xml"));
  CHECK_FALSE(ant_match("*.xml", "d/a.xml"));
  CHECK(ant_match("**/*.xml", "a.xml"));
  CHECK(ant_match("**/*.xml", "d/e/a.xml"));
  CHECK(ant_match("a/*.txt", "a/b.txt"));
  CHECK_FALSE(ant_match("a/*.txt", "a/b/c.txt"));
  CHECK(ant_match("a/**/*.jar", "a/x.jar"));
  CHECK(ant_match("a/**/*.jar", "a/b/c/x.jar"));
  CHECK_FALSE(ant_match("a/**/*.jar", "b/x.jar"));
  CHECK(ant_match("**", "anything/at/all"));
  CHECK(ant_match("build/", "build/x/y"));
  CHECK(ant_match("./src/?.c", "src/a.c"));
  CHECK_FALSE(ant_match("src/?.c", "src/ab.c"));
  CHECK(ant_match("src\\*.c", "src/a.c"));
  CHECK(ant_match("**/test-*-report.xml", "r/test-unit-report.xml"));
  CHECK_FALSE(ant_match("*.XML", "a.xml"));
  CHECK(ant_match("*.XML", "a.xml", false));
  CHECK(ant_match("*", ".env"));  // Ant has no hidden files
}

TEST_CASE("split_patterns trims and drops empties", "[ant_glob]") {
  CHECK(split_patterns(" a/**/*.jar, b.txt ,,c ") == Files{"a/**/*.jar", "b.txt", "c"});
  CHECK(split_patterns("").empty());
}

TEST_CASE("ant_glob lists matching files, sorted and relative", "[ant_glob]") {
  Tree t;
  for (auto f : {"a.xml", "reports/x.xml", "reports/deep/y.xml", "a/b.txt", "a/c/d.txt", ".env",
                 "build/app.jar", "build/lib/dep.jar"}) {
    t.file(f);
  }
  CHECK(t.glob("**/*.xml") == Files{"a.xml", "reports/deep/y.xml", "reports/x.xml"});
  CHECK(t.glob("a/*.txt") == Files{"a/b.txt"});
  CHECK(t.glob("build/**/*.jar, a.xml") == Files{"a.xml", "build/app.jar", "build/lib/dep.jar"});
  CHECK(t.glob("**").size() == 8);
  CHECK(t.glob("*") == Files{".env", "a.xml"});
  CHECK(t.glob("nothing/**").empty());
  CHECK(t.glob("").empty());
}

TEST_CASE("ant_glob excludes, default excludes and symlinked directories", "[ant_glob]") {
  Tree t;
  for (auto f : {"src/a.c", "src/a.c~", "src/.git/config", ".git/HEAD", ".gitignore", "out/gen/b.c",
                 "out/keep.c"}) {
    t.file(f);
  }
  CHECK(t.glob("**", "out/gen/**") == Files{"out/keep.c", "src/a.c"});
  CHECK(t.glob("**/*.c", "**/keep.c") == Files{"out/gen/b.c", "src/a.c"});
  CHECK(t.glob("**", "", false).size() == 7);
  fs::create_directory_symlink(t.root / "src", t.root / "loop");
  CHECK(t.glob("loop/**").empty());  // directory links are not followed
  fs::create_symlink(t.root / "out" / "keep.c", t.root / "link.c");
  CHECK(t.glob("*.c") == Files{"link.c"});
}

TEST_CASE("ant_glob reports an unreadable base", "[ant_glob]") {
  std::vector<std::string> out;
  std::string error;
  CHECK_FALSE(ant_glob("/nonexistent/gantry", GlobOptions{"**"}, out, error));
  CHECK(error.find("/nonexistent/gantry") != std::string::npos);
}
