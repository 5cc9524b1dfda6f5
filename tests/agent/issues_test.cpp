#include "runner/issues.hpp"

#include <catch2/catch.hpp>

using namespace gantry::agent;

TEST_CASE("issues: checkstyle XML with entities and severities") {
  std::vector<Issue> out;
  std::string error;
  REQUIRE(parse_issues(IssueFormat::Checkstyle, R"(<?xml version="1.0"?>
<!-- eslint -f checkstyle -->
<checkstyle><file name="a.js"><error line="2" column="4" severity="error" message="&quot;x&quot; is unused" source="eslint.rules.no-unused-vars"/>
<error line="9" severity="info" message="style"/></file><file name="b.js"/></checkstyle>)",
                       "eslint", out, error));
  REQUIRE(out.size() == 2);
  CHECK(out[0].tool == "eslint");
  CHECK(out[0].file == "a.js");
  CHECK(out[0].line == 2);
  CHECK(out[0].column == 4);
  CHECK(out[0].severity == "error");
  CHECK(out[0].message == "\"x\" is unused");
  CHECK(out[0].type == "no-unused-vars");
  CHECK(out[1].severity == "low");
}

TEST_CASE("issues: a report of another format is refused with its root") {
  std::vector<Issue> out;
  std::string error;
  CHECK_FALSE(parse_issues(IssueFormat::Checkstyle, "<pmd></pmd>", "checkstyle", out, error));
  CHECK(error == "not a Checkstyle report: the root element is <pmd>, expected <checkstyle>");
  CHECK_FALSE(parse_issues(IssueFormat::Pmd, "<pmd><file>", "pmd", out, error));
  CHECK(error == "line 1: <file> is never closed");
  CHECK(out.empty());
}

TEST_CASE("issues: PMD violations with their text and priorities") {
  std::vector<Issue> out;
  std::string error;
  REQUIRE(parse_issues(IssueFormat::Pmd, R"(<pmd version="6.55.0">
<file name="/ws/src/Foo.java">
<violation beginline="12" endline="12" begincolumn="3" endcolumn="9" rule="UnusedPrivateField" ruleset="Best Practices" priority="3">
Avoid unused private fields such as 'x'.
</violation>
<violation beginline="20" rule="EmptyCatchBlock" ruleset="Error Prone" priority="1"><![CDATA[Empty catch]]></violation>
</file></pmd>)",
                       "pmd", out, error));
  REQUIRE(out.size() == 2);
  CHECK(out[0].file == "/ws/src/Foo.java");
  CHECK(out[0].line == 12);
  CHECK(out[0].severity == "normal");
  CHECK(out[0].message == "Avoid unused private fields such as 'x'.");
  CHECK(out[0].category == "Best Practices");
  CHECK(out[1].severity == "high");
  CHECK(out[1].message == "Empty catch");
}

TEST_CASE("issues: SpotBugs takes the bug's own source line") {
  std::vector<Issue> out;
  std::string error;
  REQUIRE(parse_issues(IssueFormat::SpotBugs, R"(<BugCollection version="4.7">
<BugInstance type="NP_NULL_ON_SOME_PATH" priority="1" category="CORRECTNESS">
  <ShortMessage>Possible null</ShortMessage>
  <LongMessage>Possible null pointer dereference of x</LongMessage>
  <Class classname="a.B"><SourceLine classname="a.B" start="1" end="90" sourcepath="a/B.java"/></Class>
  <Method name="f"><SourceLine classname="a.B" start="10" end="20" sourcepath="a/B.java"/></Method>
  <SourceLine classname="a.B" start="14" end="14" sourcepath="a/B.java"/>
</BugInstance>
<BugInstance type="DM_DEFAULT_ENCODING" priority="3" category="I18N">
  <Class classname="a.C"><SourceLine classname="a.C" start="5" sourcepath="a/C.java"/></Class>
</BugInstance>
</BugCollection>)",
                       "spotbugs", out, error));
  REQUIRE(out.size() == 2);
  CHECK(out[0].file == "a/B.java");
  CHECK(out[0].line == 14);
  CHECK(out[0].severity == "high");
  CHECK(out[0].message == "Possible null pointer dereference of x");
  CHECK(out[1].line == 5);
  CHECK(out[1].severity == "low");
  CHECK(out[1].message == "DM_DEFAULT_ENCODING");
}

TEST_CASE("issues: SARIF results and quality gate counts") {
  std::vector<Issue> out;
  std::string error;
  REQUIRE(parse_issues(IssueFormat::Json,
                       R"({"version":"2.1.0","runs":[{"tool":{"driver":{"name":"semgrep"}},
"results":[{"ruleId":"r1","level":"error","message":{"text":"bad"},"locations":[{"physicalLocation":
{"artifactLocation":{"uri":"src/x.py"},"region":{"startLine":7,"startColumn":2}}}]},
{"ruleId":"r2","message":{"text":"meh"}}]}]})",
                       "sarif", out, error));
  REQUIRE(out.size() == 2);
  CHECK(out[0].file == "src/x.py");
  CHECK(out[0].line == 7);
  CHECK(out[0].severity == "error");
  CHECK(out[1].severity == "normal");
  CHECK(gate_count({1, "TOTAL", "UNSTABLE"}, out) == 2);
  CHECK(gate_count({1, "TOTAL_ERROR", "UNSTABLE"}, out) == 1);
  CHECK(gate_count({1, "NEW_NORMAL", "UNSTABLE"}, out) == 1);
  CHECK_FALSE(gate_count({1, "DELTA", "UNSTABLE"}, out));
  CHECK_FALSE(parse_issues(IssueFormat::Json, "[1]", "sarif", out, error));
}

TEST_CASE("issues: unknown tools and the summary's bound") {
  CHECK_FALSE(issue_tool("java"));
  CHECK(issue_tool("pmdParser")->id == "pmd");
  CHECK(supported_issue_tools().find("checkStyle(), esLint()") == 0);
  std::vector<Issue> many(5);
  std::string json = issues_report_json("x", "X", many, {}, "SUCCESS", 2);
  CHECK(json.find("\"omitted\":3") != std::string::npos);
  CHECK(json.find("\"total\":5") != std::string::npos);
}
