#pragma once
// Static-analysis reports for `recordIssues` (Jenkins' Warnings Next Generation plugin): a
// few of its file formats read into one list of issues, and the summary of one recordIssues
// step as the controller keeps it (docs/reports.md).
//
// Formats: Checkstyle XML (checkStyle, and the tools that write it: esLint, ktLint, detekt,
// tsLint, swiftLint, phpCodeSniffer), PMD XML (pmdParser), SpotBugs/FindBugs XML (spotBugs,
// findBugs) and JSON (sarif: SARIF 2.1; issues: SARIF or the plugin's own issues format).
// The XML readers are small tolerant scanners, not validating parsers: they need tags that
// nest and ignore elements they do not know.
//
// Not responsible for finding the files (ant_glob.hpp), console-log parsers (java(), gcc(),
// ...: not supported), or deciding the stage result (steps_reports.cpp). Pure functions, safe
// from any thread.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::agent {

inline constexpr uint64_t kMaxIssuesFileBytes = uint64_t{64} << 20;
inline constexpr size_t kMaxIssueMessage = 1024;
inline constexpr size_t kMaxReportIssues = 1000;  // listed in a summary; the rest only counted

// Severities as the warnings plugin names them, lower-cased: error, high, normal, low.
struct Issue {
  std::string tool;  // the tool's id ("checkstyle")
  std::string file;
  int64_t line = 0, column = 0;
  std::string severity = "normal";
  std::string type;      // the rule or bug pattern
  std::string category;  // ruleset, bug category
  std::string message;
};

enum class IssueFormat { Checkstyle, Pmd, SpotBugs, Json };

// The format of a tool's describable name (checkStyle, pmdParser, ...), and its default id;
// nullopt for the tools Gantry does not parse.
struct IssueTool {
  IssueFormat format;
  std::string_view id;
};
std::optional<IssueTool> issue_tool(std::string_view name);
// "checkStyle, esLint, ..." for messages and docs.
std::string supported_issue_tools();

// Appends the issues of one report's text to `out`, each marked with `tool_id`. False with
// `error` naming the problem (not the file) when the text is not that format or is malformed.
bool parse_issues(IssueFormat format, std::string_view text, const std::string& tool_id,
                  std::vector<Issue>& out, std::string& error);

// JSON reports (issues_json.cpp): SARIF 2.1 ({"runs": [{"tool", "results"}]}) or the warnings
// plugin's own format ({"issues": [{"fileName", "lineStart", "message", "severity"}]}).
bool parse_issues_json(std::string_view text, const std::string& tool_id, std::vector<Issue>& out,
                       std::string& error);

// A quality gate: `threshold` issues of `type` (TOTAL, TOTAL_ERROR, TOTAL_HIGH, TOTAL_NORMAL,
// TOTAL_LOW; NEW_* count the same, as every issue is new without a reference build) or more
// fail it, making the result `result` (UNSTABLE or FAILURE).
struct QualityGate {
  int64_t threshold = 0;
  std::string type = "TOTAL";
  std::string result = "UNSTABLE";
};
// The number of issues a gate's type counts; nullopt for a type Gantry does not evaluate
// (DELTA_*, NEW_* against a reference build we do not keep).
std::optional<int64_t> gate_count(const QualityGate& gate, const std::vector<Issue>& issues);

// One recordIssues step's summary: {"id", "name", "total", "by_severity": {...}, "by_tool":
// {...}, "issues": [{tool, file, line, column, severity, type, category, message}], "omitted",
// "gates": [{type, threshold, actual, result}], "result"}. At most `max_issues` listed, errors
// first, then by severity, file and line.
struct GateOutcome {
  QualityGate gate;
  int64_t actual = 0;
  bool passed = true;
};
std::string issues_report_json(const std::string& id, const std::string& name,
                               std::vector<Issue> issues, const std::vector<GateOutcome>& gates,
                               const std::string& result, size_t max_issues = kMaxReportIssues);

}  // namespace gantry::agent
