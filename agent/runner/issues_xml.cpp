// The XML formats of recordIssues (issues.hpp): Checkstyle, PMD and SpotBugs, read through one
// small event scanner; the table of the tools Gantry parses; quality gates' counts.
#include <cstdlib>
#include <functional>
#include <map>

#include "issues.hpp"
#include "junit.hpp"

namespace gantry::agent {
namespace {

constexpr size_t kMaxDepth = 256;

using Attrs = std::map<std::string, std::string, std::less<>>;

// XML's five entities and numeric references (junit.cpp decodes them for both).
std::string decode(std::string_view text) {
  std::string out;
  append_xml_decoded(out, text, text.size() * 4 + 4);
  return out;
}

// Calls `open` for each start tag (with its attributes and the depth of its parent), `close`
// for each end (also of an empty element) and `text` for character data and CDATA. Returns the
// root element's name, or "" with `error` set.
struct XmlEvents {
  std::function<void(const std::string&, const Attrs&, const std::vector<std::string>&)> open;
  std::function<void(const std::string&)> close;
  std::function<void(std::string_view)> text;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string scan_xml(std::string_view xml, const XmlEvents& on, std::string& error) {
  std::vector<std::string> stack;
  std::string root;
  size_t pos = 0;
  auto fail = [&](const std::string& why) {
    size_t line = 1;
    for (size_t i = 0; i < pos && i < xml.size(); ++i) line += xml[i] == '\n';
    error = "line " + std::to_string(line) + ": " + why;
    return std::string();
  };
  while (pos < xml.size()) {
    size_t lt = xml.find('<', pos);
    if (lt == std::string_view::npos) break;
    if (!stack.empty() && lt > pos && on.text) on.text(decode(xml.substr(pos, lt - pos)));
    pos = lt;
    std::string_view rest = xml.substr(pos);
    auto skip = [&](std::string_view close) {
      size_t end = xml.find(close, pos);
      if (end == std::string_view::npos) return false;
      pos = end + close.size();
      return true;
    };
    if (rest.starts_with("<!--")) {
      if (!skip("-->")) return fail("unterminated comment");
    } else if (rest.starts_with("<![CDATA[")) {
      size_t from = pos + 9;
      if (!skip("]]>")) return fail("unterminated CDATA section");
      if (!stack.empty() && on.text) on.text(xml.substr(from, pos - 3 - from));
    } else if (rest.starts_with("<?")) {
      if (!skip("?>")) return fail("unterminated processing instruction");
    } else if (rest.starts_with("<!")) {
      if (!skip(">")) return fail("unterminated declaration");
    } else if (rest.starts_with("</")) {
      size_t gt = xml.find('>', pos);
      if (gt == std::string_view::npos) return fail("unterminated end tag");
      std::string name(xml.substr(pos + 2, gt - pos - 2));
      while (!name.empty() && is_space(name.back())) name.pop_back();
      if (stack.empty() || stack.back() != name) return fail("unexpected </" + name + ">");
      stack.pop_back();
      if (on.close) on.close(name);
      pos = gt + 1;
    } else {
      size_t i = pos + 1;
      while (i < xml.size() && !is_space(xml[i]) && xml[i] != '>' && xml[i] != '/') ++i;
      std::string name(xml.substr(pos + 1, i - pos - 1));
      if (name.empty()) return fail("a '<' that starts no tag");
      Attrs attrs;
      bool empty = false;
      for (;;) {
        while (i < xml.size() && is_space(xml[i])) ++i;
        if (i >= xml.size()) return fail("unterminated <" + name + ">");
        if (xml[i] == '>') break;
        if (xml[i] == '/' && i + 1 < xml.size() && xml[i + 1] == '>') {
          empty = true;
          ++i;
          break;
        }
        size_t eq = xml.find('=', i);
        if (eq == std::string_view::npos) return fail("bad attribute in <" + name + ">");
        std::string key(xml.substr(i, eq - i));
        while (!key.empty() && is_space(key.back())) key.pop_back();
        i = eq + 1;
        while (i < xml.size() && is_space(xml[i])) ++i;
        if (i >= xml.size() || (xml[i] != '"' && xml[i] != '\''))
          return fail("unquoted attribute in <" + name + ">");
        size_t close = xml.find(xml[i], i + 1);
        if (close == std::string_view::npos)
          return fail("unterminated attribute in <" + name + ">");
        attrs[key] = decode(xml.substr(i + 1, close - i - 1));
        i = close + 1;
      }
      pos = i + 1;
      if (root.empty()) root = name;
      if (stack.size() >= kMaxDepth) return fail("elements nest too deep");
      if (on.open) on.open(name, attrs, stack);
      if (empty) {
        if (on.close) on.close(name);
      } else {
        stack.push_back(name);
      }
    }
  }
  if (!stack.empty()) return fail("<" + stack.back() + "> is never closed");
  if (root.empty()) error = "no XML elements";
  return root;
}

std::string attr(const Attrs& a, std::string_view key) {
  auto it = a.find(key);
  return it == a.end() ? std::string() : it->second;
}

int64_t number(const std::string& s) {
  return std::strtoll(s.c_str(), nullptr, 10);
}

std::string trimmed(std::string s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  s = s.substr(b, e - b);
  if (s.size() > kMaxIssueMessage) s.resize(kMaxIssueMessage);
  return s;
}

// The last part of a dotted name: the check of "com.puppycrawl.tools.checkstyle.checks.X".
std::string last_part(const std::string& s) {
  size_t dot = s.rfind('.');
  return dot == std::string::npos ? s : s.substr(dot + 1);
}

bool wrong_root(const std::string& root, std::string_view want, std::string_view format,
                std::string& error) {
  if (root.empty()) return true;
  if (root == want) return false;
  error = "not a " + std::string(format) + " report: the root element is <" + root +
          ">, expected <" + std::string(want) + ">";
  return true;
}

bool parse_checkstyle(std::string_view xml, const std::string& tool, std::vector<Issue>& out,
                      std::string& error) {
  std::vector<Issue> found;
  std::string file;
  XmlEvents on;
  on.open = [&](const std::string& name, const Attrs& a, const std::vector<std::string>&) {
    if (name == "file") file = attr(a, "name");
    if (name != "error") return;
    Issue i;
    i.tool = tool;
    i.file = file;
    i.line = number(attr(a, "line"));
    i.column = number(attr(a, "column"));
    std::string sev = attr(a, "severity");
    i.severity = sev == "error" ? "error" : sev == "info" ? "low" : "normal";
    if (sev == "ignore") return;
    i.type = last_part(attr(a, "source"));
    i.message = trimmed(attr(a, "message"));
    found.push_back(std::move(i));
  };
  std::string root = scan_xml(xml, on, error);
  if (wrong_root(root, "checkstyle", "Checkstyle", error)) return false;
  for (Issue& i : found) out.push_back(std::move(i));
  return true;
}

bool parse_pmd(std::string_view xml, const std::string& tool, std::vector<Issue>& out,
               std::string& error) {
  std::vector<Issue> found;
  std::string file;
  bool in_violation = false;
  XmlEvents on;
  on.open = [&](const std::string& name, const Attrs& a, const std::vector<std::string>&) {
    if (name == "file") file = attr(a, "name");
    if (name != "violation") return;
    Issue i;
    i.tool = tool;
    i.file = file;
    i.line = number(attr(a, "beginline"));
    i.column = number(attr(a, "begincolumn"));
    int64_t priority = number(attr(a, "priority"));
    i.severity = priority > 0 && priority <= 2 ? "high" : priority >= 4 ? "low" : "normal";
    i.type = attr(a, "rule");
    i.category = attr(a, "ruleset");
    found.push_back(std::move(i));
    in_violation = true;
  };
  on.text = [&](std::string_view text) {
    if (in_violation && found.back().message.size() < kMaxIssueMessage * 2)
      found.back().message += text;
  };
  on.close = [&](const std::string& name) {
    if (name != "violation" || !in_violation) return;
    in_violation = false;
    found.back().message = trimmed(found.back().message);
    if (found.back().message.empty()) found.back().message = found.back().type;
  };
  std::string root = scan_xml(xml, on, error);
  if (wrong_root(root, "pmd", "PMD", error)) return false;
  for (Issue& i : found) out.push_back(std::move(i));
  return true;
}

bool parse_spotbugs(std::string_view xml, const std::string& tool, std::vector<Issue>& out,
                    std::string& error) {
  std::vector<Issue> found;
  bool in_bug = false, have_primary = false;
  std::string element;  // the message element being read
  std::string long_message, short_message;
  XmlEvents on;
  on.open = [&](const std::string& name, const Attrs& a, const std::vector<std::string>& parents) {
    if (name == "BugInstance") {
      Issue i;
      i.tool = tool;
      int64_t priority = number(attr(a, "priority"));
      i.severity = priority == 1 ? "high" : priority >= 3 ? "low" : "normal";
      i.type = attr(a, "type");
      i.category = attr(a, "category");
      found.push_back(std::move(i));
      in_bug = true;
      have_primary = false;
      long_message.clear();
      short_message.clear();
      return;
    }
    if (!in_bug) return;
    if (name == "LongMessage" || name == "ShortMessage") element = name;
    if (name != "SourceLine") return;
    // The bug's own line is its direct <SourceLine> (or one marked primary); a class's or a
    // method's lines are only a fallback.
    const bool direct = !parents.empty() && parents.back() == "BugInstance";
    const bool primary = direct || attr(a, "primary") == "true";
    if (have_primary || (!primary && !found.back().file.empty())) return;
    std::string path = attr(a, "sourcepath");
    found.back().file = path.empty() ? attr(a, "sourcefile") : path;
    found.back().line = number(attr(a, "start"));
    have_primary = primary;
  };
  on.text = [&](std::string_view text) {
    if (element == "LongMessage" && long_message.size() < kMaxIssueMessage) long_message += text;
    if (element == "ShortMessage" && short_message.size() < kMaxIssueMessage) short_message += text;
  };
  on.close = [&](const std::string& name) {
    if (name == "LongMessage" || name == "ShortMessage") element.clear();
    if (name != "BugInstance" || !in_bug) return;
    in_bug = false;
    Issue& i = found.back();
    i.message = trimmed(!long_message.empty() ? long_message : short_message);
    if (i.message.empty()) i.message = i.type;
  };
  std::string root = scan_xml(xml, on, error);
  if (root.empty()) return false;
  if (root != "BugCollection" && root != "BugInstance") {
    error = "not a SpotBugs report: the root element is <" + root + ">, expected <BugCollection>";
    return false;
  }
  for (Issue& i : found) out.push_back(std::move(i));
  return true;
}

struct ToolEntry {
  std::string_view name;
  IssueFormat format;
  std::string_view id;
};

constexpr ToolEntry kTools[] = {
    {"checkStyle", IssueFormat::Checkstyle, "checkstyle"},
    {"esLint", IssueFormat::Checkstyle, "eslint"},
    {"ktLint", IssueFormat::Checkstyle, "ktlint"},
    {"detekt", IssueFormat::Checkstyle, "detekt"},
    {"tsLint", IssueFormat::Checkstyle, "tslint"},
    {"swiftLint", IssueFormat::Checkstyle, "swiftlint"},
    {"phpCodeSniffer", IssueFormat::Checkstyle, "php-code-sniffer"},
    {"pmdParser", IssueFormat::Pmd, "pmd"},
    {"spotBugs", IssueFormat::SpotBugs, "spotbugs"},
    {"findBugs", IssueFormat::SpotBugs, "findbugs"},
    {"sarif", IssueFormat::Json, "sarif"},
    {"issues", IssueFormat::Json, "issues"},
};

}  // namespace

std::optional<IssueTool> issue_tool(std::string_view name) {
  for (const ToolEntry& t : kTools) {
    if (t.name == name) return IssueTool{t.format, t.id};
  }
  return std::nullopt;
}

std::string supported_issue_tools() {
  std::string out;
  for (const ToolEntry& t : kTools) out += (out.empty() ? "" : ", ") + std::string(t.name) + "()";
  return out;
}

bool parse_issues(IssueFormat format, std::string_view text, const std::string& tool_id,
                  std::vector<Issue>& out, std::string& error) {
  switch (format) {
    case IssueFormat::Checkstyle:
      return parse_checkstyle(text, tool_id, out, error);
    case IssueFormat::Pmd:
      return parse_pmd(text, tool_id, out, error);
    case IssueFormat::SpotBugs:
      return parse_spotbugs(text, tool_id, out, error);
    case IssueFormat::Json:
      return parse_issues_json(text, tool_id, out, error);
  }
  return false;
}

std::optional<int64_t> gate_count(const QualityGate& gate, const std::vector<Issue>& issues) {
  std::string type = gate.type;
  if (type.starts_with("NEW")) type = "TOTAL" + type.substr(3);  // all issues are new here
  static const std::pair<std::string_view, std::string_view> kTypes[] = {{"TOTAL", ""},
                                                                         {"TOTAL_ERROR", "error"},
                                                                         {"TOTAL_HIGH", "high"},
                                                                         {"TOTAL_NORMAL", "normal"},
                                                                         {"TOTAL_LOW", "low"}};
  for (const auto& [name, severity] : kTypes) {
    if (name != type) continue;
    int64_t n = 0;
    for (const Issue& i : issues) n += severity.empty() || i.severity == severity;
    return n;
  }
  return std::nullopt;
}

}  // namespace gantry::agent
