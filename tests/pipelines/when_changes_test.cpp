// `when { changeset }` and `when { changelog }` against a run's commits, and
// the Ant glob they share with `branch`.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/when_eval.hpp"

using namespace gantry::pipelines;

namespace {

using Change = WhenContext::ChangeEntry;

// Evaluates `conditions` as the when block of a one-stage Jenkinsfile.
WhenOutcome when_with(const std::string& conditions, std::vector<Change> changes) {
  std::string source = "pipeline {\n  agent any\n  stages {\n    stage('S') {\n      when { " +
                       conditions + " }\n      steps { echo 'x' }\n    }\n  }\n}\n";
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  INFO(render_all(r.diagnostics, "Jenkinsfile", source));
  REQUIRE(r.pipeline);
  REQUIRE(r.pipeline->stages.at(0).when);
  WhenContext ctx;
  ctx.changes = std::move(changes);
  return evaluate_when(*r.pipeline->stages.at(0).when, ctx);
}

bool runs(const std::string& conditions, std::vector<Change> changes) {
  WhenOutcome out = when_with(conditions, std::move(changes));
  INFO(out.reason);
  REQUIRE_FALSE(out.error);
  return out.run;
}

Change paths(std::vector<std::string> p) {
  return Change{"change\n", "dev", std::move(p)};
}
Change message(std::string m) {
  return Change{std::move(m), "dev", {"README.md"}};
}

const std::vector<Change> kWebChanges = {paths({"README.md"}),
                                         paths({"web/src/App.js", "web/package.json"})};

}  // namespace

TEST_CASE("glob_match follows Ant's matchPath", "[when][glob]") {
  CHECK(glob_match("**/*.js", "app.js"));  // ** is zero or more directories
  CHECK(glob_match("**/*.js", "web/src/App.js"));
  CHECK(glob_match("src/**", "src/a/b/c.cpp"));
  CHECK(glob_match("src/**", "src"));
  CHECK(glob_match("src/**/test/*.cpp", "src/test/x.cpp"));
  CHECK(glob_match("src/**/test/*.cpp", "src/a/b/test/x.cpp"));
  CHECK_FALSE(glob_match("src/**/test/*.cpp", "src/a/test/sub/x.cpp"));
  CHECK(glob_match("release/*", "release/1.0"));
  CHECK_FALSE(glob_match("release/*", "release/1.0/hotfix"));
  CHECK_FALSE(glob_match("*", "feature/x"));  // * stays within a segment
  CHECK(glob_match("**", "feature/x"));
  CHECK(glob_match("v?.*", "v1.2"));
  CHECK_FALSE(glob_match("v?.*", "v10.2"));
  CHECK(glob_match("a//b/", "a/b"));       // empty segments do not count
  CHECK_FALSE(glob_match("a/b", "/a/b"));  // an absolute path has a root
  CHECK(glob_match("**/b", "/a/b"));
  CHECK_FALSE(glob_match("*.JS", "app.js"));
  CHECK(glob_match("*.JS", "app.js", false));
  CHECK_FALSE(glob_match("*", ""));
}

TEST_CASE("changeset: a glob that any changed path matches", "[when][changeset]") {
  CHECK(runs("changeset '**/*.js'", kWebChanges));
  CHECK(runs("changeset 'web/**'", kWebChanges));
  CHECK(runs("changeset 'README.md'", kWebChanges));
  CHECK_FALSE(runs("changeset '**/*.cpp'", kWebChanges));
  CHECK_FALSE(runs("changeset 'src/**'", kWebChanges));
  CHECK(runs("changeset 'src/**'", {paths({"src/main.cpp"})}));
  CHECK_FALSE(runs("changeset '*.js'", kWebChanges));  // * does not cross '/'
  WhenOutcome out = when_with("changeset 'src/**'", kWebChanges);
  CHECK(out.reason == "when condition 'changeset' is false");
}

TEST_CASE("changeset: case-insensitive unless caseSensitive: true", "[when][changeset]") {
  CHECK(runs("changeset '**/APP.JS'", kWebChanges));
  CHECK_FALSE(runs("changeset pattern: '**/APP.JS', caseSensitive: true", kWebChanges));
  CHECK(runs("changeset pattern: '**/App.js', caseSensitive: true", kWebChanges));
  CHECK(runs("changeset pattern: '**/APP.JS', caseSensitive: false", kWebChanges));
}

TEST_CASE("changeset: REGEXP matches the whole path", "[when][changeset]") {
  CHECK(runs("changeset pattern: '.*\\\\.json', comparator: 'REGEXP'", kWebChanges));
  CHECK_FALSE(runs("changeset pattern: 'package', comparator: 'REGEXP'", kWebChanges));
  CHECK(runs("changeset pattern: 'WEB/.*', comparator: 'regexp'", kWebChanges));
  CHECK_FALSE(
      runs("changeset pattern: 'WEB/.*', comparator: 'REGEXP', caseSensitive: true", kWebChanges));
}

TEST_CASE("changeset: EQUALS compares the whole path", "[when][changeset]") {
  CHECK(runs("changeset pattern: 'web/package.json', comparator: 'EQUALS'", kWebChanges));
  CHECK(runs("changeset pattern: 'Web/Package.json', comparator: 'EQUALS'", kWebChanges));
  CHECK_FALSE(
      runs("changeset pattern: 'Web/Package.json', comparator: 'EQUALS', caseSensitive: true",
           kWebChanges));
  CHECK_FALSE(runs("changeset pattern: 'web/*.json', comparator: 'EQUALS'", kWebChanges));
}

TEST_CASE("changeset: backslashes count as slashes", "[when][changeset]") {
  CHECK(runs("changeset 'web\\\\src\\\\*.js'", kWebChanges));
  CHECK(runs("changeset 'docs/*.md'", {paths({"docs\\guide.md"})}));
}

TEST_CASE("changelog: any commit's message, Jenkins-style", "[when][changelog]") {
  std::vector<Change> log = {message("Update README\n"),
                             message("Fix the parser [ci skip]\n\nIt crashed on empty input.\n")};
  CHECK(runs("changelog '.*\\\\[ci skip\\\\].*'", log));
  CHECK_FALSE(runs("changelog '.*\\\\[skip ci\\\\].*'", log));
  CHECK(runs("changelog 'Update README'", log));  // the whole title
  CHECK_FALSE(runs("changelog 'Update'", log));   // matches(), not find()
  // A bare pattern must be the whole title: Jenkins' surprising edge.
  CHECK_FALSE(runs("changelog '\\\\[ci skip\\\\]'", log));
  CHECK(runs("changelog '\\\\[ci skip\\\\]'", {message("[ci skip]\n\nbody\n")}));
}

TEST_CASE("changelog: lines of multi-line messages", "[when][changelog]") {
  std::vector<Change> log = {
      message("Bump dependencies\n\n[DEPENDENCY] libfoo 1.2 -> 1.3\nSigned-off-by: A <a@b>\n")};
  // The example of Jenkins' documentation: a body line, found with ^ and $.
  CHECK(runs("changelog '.*^\\\\[DEPENDENCY\\\\] .+$'", log));
  CHECK(runs("changelog '.*^Signed-off-by: .*'", log));
  CHECK_FALSE(runs("changelog '.*^libfoo.*'", log));   // not at a line start
  CHECK(runs("changelog '.*libfoo 1\\\\.2.*'", log));  // '.' crosses lines (DOTALL)
  CHECK(runs("changelog 'Bump dependencies'", log));   // the title alone
  // A message without a final newline reads as if it had one.
  CHECK(runs("changelog '.*^Fixes #\\\\d+$.*'", {message("Fix crash\n\nFixes #12")}));
  CHECK_FALSE(runs("changelog '.*^Fixes #\\\\d+$.*'", {message("Fix crash\n\nFixes #12a")}));
}

TEST_CASE("changelog: case is significant, as in java.util.regex", "[when][changelog]") {
  CHECK_FALSE(runs("changelog '.*\\\\[CI SKIP\\\\].*'", {message("wip [ci skip]\n")}));
  CHECK(runs("changelog '.*\\\\[[Cc][Ii] [Ss][Kk][Ii][Pp]\\\\].*'", {message("wip [CI Skip]\n")}));
}

TEST_CASE("changelog: long messages are cut, not refused", "[when][changelog]") {
  std::string huge = "Big\n" + std::string(size_t{200} * 1024, 'x') + "\n[ci skip]\n";
  CHECK(runs("changelog 'Big'", {message(huge)}));
  // The marker lies past kMaxChangeMessage: cut off.
  CHECK_FALSE(runs("changelog '.*\\\\[ci skip\\\\].*'", {message(huge)}));
}

TEST_CASE("change conditions without changes are false", "[when]") {
  CHECK_FALSE(runs("changeset '**'", {}));
  CHECK_FALSE(runs("changelog '.*'", {}));
  CHECK_FALSE(runs("changeset '**'", {Change{"no paths\n", "dev", {}}}));
  CHECK(runs("not { changeset '**' }", {}));
}

TEST_CASE("change conditions combine with not, anyOf and allOf", "[when]") {
  std::vector<Change> log = {message("Docs only [ci skip]\n"), paths({"docs/index.md"})};
  CHECK_FALSE(runs("not { changelog '.*\\\\[ci skip\\\\].*' }", log));
  CHECK(runs("anyOf { changeset 'src/**'\n changelog '.*\\\\[ci skip\\\\].*' }", log));
  CHECK_FALSE(runs("anyOf { changeset 'src/**'\n changelog '.*release.*' }", log));
  CHECK(runs("allOf { changeset 'docs/**'\n not { changeset 'src/**' } }", log));
}

TEST_CASE("change conditions: a bad pattern fails the stage", "[when]") {
  // Built in an expression so that the parser cannot reject it first.
  WhenOutcome out = when_with("changelog \"${'(unclosed'}\"", {message("x\n")});
  CHECK(out.error);
  CHECK_FALSE(out.run);
  CHECK(out.reason.starts_with("when changelog: \"(unclosed\" is not a valid regular expression"));
  // Even with no changes, as Jenkins compiles the pattern first.
  CHECK(when_with("changelog \"${'a{2'}\"", {}).error);
  out = when_with("changeset pattern: \"${'[z-a]'}\", comparator: 'REGEXP'", kWebChanges);
  CHECK(out.error);
  CHECK(out.reason.starts_with("when changeset: \"[z-a]\" is not a valid regular expression"));
  out = when_with("changeset pattern: 'x', comparator: \"${'LIKE'}\"", kWebChanges);
  CHECK(out.reason == "when changeset: comparator \"LIKE\" is not one of EQUALS, GLOB, REGEXP");
  out = when_with("changelog \"${'(a)\\\\1'}\"", {});
  CHECK(out.reason ==
        "when changelog: \"(a)\\1\" uses back-references, which Gantry does not support");
}

TEST_CASE("change conditions: patterns too complex for the budget are errors", "[when]") {
  WhenOutcome out = when_with("changelog '(a{100}){100}'", {message("a\n")});
  CHECK(out.error);
  CHECK(out.reason ==
        "when changelog: regular expression \"(a{100}){100}\" is too long or too "
        "complex for Gantry");
  // Within the limits, but over the work budget for a 63 KiB message.
  out = when_with("changelog '(a|b|c|d|e|f|g|h|i|j|k|l|m|n|o|p){130}'",
                  {message("title\n" + std::string(size_t{63} * 1024, 'y'))});
  CHECK(out.error);
  CHECK(out.reason.find("too much text to match against") != std::string::npos);
}
