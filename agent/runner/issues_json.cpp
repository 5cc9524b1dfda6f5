// The JSON sides of recordIssues (issues.hpp): SARIF and the warnings plugin's own issues
// format read in, and one step's summary written out.
#include <algorithm>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "issues.hpp"

namespace gantry::agent {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

const json& at(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string cut(std::string s) {
  if (s.size() > kMaxIssueMessage) s.resize(kMaxIssueMessage);
  return s;
}

void read_sarif(const json& doc, const std::string& tool, std::vector<Issue>& out) {
  for (const json& run : at(doc, "runs")) {
    const json& results = at(run, "results");
    if (!results.is_array()) continue;
    for (const json& r : results) {
      Issue i;
      i.tool = tool;
      std::string level = str(r, "level");
      i.severity = level == "error"                     ? "error"
                   : level == "note" || level == "none" ? "low"
                                                        : "normal";
      i.type = str(r, "ruleId");
      i.category = str(at(at(run, "tool"), "driver"), "name");
      i.message = cut(str(at(r, "message"), "text"));
      const json& locations = at(r, "locations");
      if (locations.is_array() && !locations.empty()) {
        const json& physical = at(locations[0], "physicalLocation");
        i.file = str(at(physical, "artifactLocation"), "uri");
        if (i.file.starts_with("file://")) i.file = i.file.substr(7);
        i.line = num(at(physical, "region"), "startLine");
        i.column = num(at(physical, "region"), "startColumn");
      }
      out.push_back(std::move(i));
    }
  }
}

void read_native(const json& doc, const std::string& tool, std::vector<Issue>& out) {
  for (const json& r : at(doc, "issues")) {
    Issue i;
    i.tool = tool;
    std::string sev = str(r, "severity");
    std::transform(sev.begin(), sev.end(), sev.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (sev.starts_with("warning_")) sev = sev.substr(8);
    i.severity = sev == "error" || sev == "high" || sev == "low" ? sev : "normal";
    i.file = str(r, "fileName");
    i.line = num(r, "lineStart");
    i.column = num(r, "columnStart");
    i.type = str(r, "type");
    i.category = str(r, "category");
    i.message = cut(str(r, "message"));
    out.push_back(std::move(i));
  }
}

int rank(const std::string& severity) {
  return severity == "error" ? 0 : severity == "high" ? 1 : severity == "normal" ? 2 : 3;
}

}  // namespace

bool parse_issues_json(std::string_view text, const std::string& tool_id, std::vector<Issue>& out,
                       std::string& error) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    error = "not JSON (a SARIF log or an issues report)";
    return false;
  }
  if (at(doc, "runs").is_array()) {
    read_sarif(doc, tool_id, out);
    return true;
  }
  if (at(doc, "issues").is_array()) {
    read_native(doc, tool_id, out);
    return true;
  }
  error = "neither a SARIF log (\"runs\") nor an issues report (\"issues\")";
  return false;
}

std::string issues_report_json(const std::string& id, const std::string& name,
                               std::vector<Issue> issues, const std::vector<GateOutcome>& gates,
                               const std::string& result, size_t max_issues) {
  json by_severity = {{"error", 0}, {"high", 0}, {"normal", 0}, {"low", 0}};
  std::map<std::string, int64_t> by_tool;
  for (const Issue& i : issues) {
    by_severity[i.severity] = by_severity[i.severity].get<int64_t>() + 1;
    ++by_tool[i.tool];
  }
  std::stable_sort(issues.begin(), issues.end(), [](const Issue& a, const Issue& b) {
    return std::tuple(rank(a.severity), a.file, a.line) <
           std::tuple(rank(b.severity), b.file, b.line);
  });
  json list = json::array();
  for (size_t n = 0; n < issues.size() && n < max_issues; ++n) {
    const Issue& i = issues[n];
    list.push_back({{"tool", i.tool},
                    {"file", i.file},
                    {"line", i.line},
                    {"column", i.column},
                    {"severity", i.severity},
                    {"type", i.type},
                    {"category", i.category},
                    {"message", i.message}});
  }
  json gate_list = json::array();
  for (const GateOutcome& g : gates) {
    gate_list.push_back({{"type", g.gate.type},
                         {"threshold", g.gate.threshold},
                         {"actual", g.actual},
                         {"result", g.passed ? "PASSED" : g.gate.result}});
  }
  json out = {{"id", id},
              {"name", name},
              {"total", issues.size()},
              {"by_severity", by_severity},
              {"by_tool", by_tool},
              {"issues", std::move(list)},
              {"omitted", issues.size() > max_issues ? issues.size() - max_issues : 0},
              {"gates", std::move(gate_list)},
              {"result", result}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace gantry::agent
