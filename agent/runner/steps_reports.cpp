// Reports a pipeline publishes (docs/reports.md): publishHTML uploads a directory of HTML the
// controller serves under a strict Content-Security-Policy; recordIssues reads static-analysis
// reports (issues.hpp) and keeps their summary with the run, with quality gates.
#include <cctype>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ant_glob.hpp"
#include "issues.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Result;
using pipelines::Step;

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxReportFiles = 2000;
constexpr uint64_t kMaxReportBytes = uint64_t{100} << 20;

// A named field of a map (`[reportDir: 'x']`) or a describable call (`checkStyle(pattern: 'x')`).
const Node* field(const Node* d, std::string_view name) {
  if (d == nullptr || (d->kind != NodeKind::Map && d->kind != NodeKind::Call)) return nullptr;
  for (const auto& arg : d->named) {
    if (arg.name == name && arg.value) return arg.value.get();
  }
  return nullptr;
}

// A list's elements; one value alone is a list of one; null is none.
std::vector<const Node*> elements(const Node* n) {
  std::vector<const Node*> out;
  if (n == nullptr || n->kind == NodeKind::Null) return out;
  if (n->kind != NodeKind::List) return {n};
  for (const auto& item : n->items) {
    if (item && item->kind != NodeKind::Null) out.push_back(item.get());
  }
  return out;
}

std::string text(StepArgs& args, const Node* n, std::string fallback = "") {
  if (n == nullptr) return fallback;
  auto v = args.eval(*n);
  return v && !v->is_null() ? v->to_string() : fallback;
}

bool flag(StepArgs& args, const Node* n, bool fallback) {
  if (n == nullptr) return fallback;
  auto v = args.eval(*n);
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) return std::get<std::string>(v->data) == "true";
  return v->truthy();
}

// `path` is `root` or below it (both canonical).
bool inside(const fs::path& path, const fs::path& root) {
  fs::path rel = path.lexically_relative(root);
  return !rel.empty() && *rel.begin() != "..";
}

// A report's name becomes a URL path segment and a directory: one segment, printable.
bool valid_report_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return false;
  }
  return true;
}

// The default file pattern of a tool, as the warnings plugin has it.
std::string default_pattern(std::string_view id) {
  if (id == "checkstyle") return "**/checkstyle-result.xml";
  if (id == "pmd") return "**/pmd.xml";
  if (id == "spotbugs") return "**/spotbugsXml.xml";
  if (id == "findbugs") return "**/findbugsXml.xml";
  if (id == "sarif") return "**/*.sarif";
  return "";
}

}  // namespace

StepStatus StepRunner::publish_html(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  // publishHTML([k: v]) and publishHTML(target: [k: v]) describe the report in a map;
  // publishHTML(k: v) in the step's own arguments.
  const Node* target = step.arg("target", 0);
  auto get = [&](std::string_view key) {
    return target != nullptr && target->kind == NodeKind::Map ? field(target, key)
                                                              : step.arg(key, StepArgs::kNamed);
  };
  const std::string dir_arg = text(args, get("reportDir"));
  const std::string name = text(args, get("reportName"), "HTML Report");
  const std::string files_arg = text(args, get("reportFiles"), "index.html");
  const std::string titles = text(args, get("reportTitles"));
  const std::string includes = text(args, get("includes"), "**/*");
  const bool allow_missing = flag(args, get("allowMissing"), false);
  if (!args.ok()) return args.failure();
  if (!valid_report_name(name)) {
    return StepStatus::failure("publishHTML: bad reportName '" + name +
                               "': one name of at most 200 characters, without '/'");
  }
  std::error_code ec;
  const fs::path workspace = fs::weakly_canonical(job_.workspace, ec);
  const fs::path dir = fs::weakly_canonical(resolve(scope, dir_arg.empty() ? "." : dir_arg), ec);
  if (ec || (!inside(dir, workspace) && dir != workspace)) {
    return StepStatus::failure("publishHTML: reportDir '" + dir_arg + "' is outside the workspace");
  }
  if (!fs::is_directory(dir, ec)) {
    std::string msg = "Specified HTML directory '" + dir.string() + "' does not exist.";
    if (!allow_missing) return StepStatus::failure("publishHTML: " + msg);
    log(msg + " Nothing published (allowMissing).");
    return StepStatus{};
  }
  // The files to upload: regular files, and symlinks to files that stay in the workspace;
  // directory links are not followed.
  std::vector<std::pair<std::string, std::string>> files;  // relative, absolute
  uint64_t bytes = 0;
  std::vector<std::string> patterns = split_patterns(includes);
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    std::string rel = p.lexically_relative(dir).generic_string();
    if (it->is_symlink(ec)) {
      fs::path real = fs::canonical(p, ec);
      ec.clear();
      if (real.empty() || !inside(real, workspace) || !fs::is_regular_file(real, ec)) {
        log("publishHTML: skipped " + rel + ": a link to outside the workspace or to no file");
        ec.clear();
        continue;
      }
    } else if (!it->is_regular_file(ec)) {
      continue;
    }
    bool wanted = false;
    for (const std::string& pat : patterns) wanted = wanted || ant_match(pat, rel);
    if (!wanted) continue;
    if (files.size() >= kMaxReportFiles) {
      return StepStatus::failure("publishHTML: report '" + name + "' has more than " +
                                 std::to_string(kMaxReportFiles) + " files");
    }
    bytes += fs::file_size(p, ec);
    if (bytes > kMaxReportBytes) {
      return StepStatus::failure("publishHTML: report '" + name + "' is over " +
                                 std::to_string(kMaxReportBytes >> 20) + " MiB");
    }
    files.emplace_back(rel, p.string());
  }
  if (ec) return StepStatus::failure("publishHTML: " + dir.string() + ": " + ec.message());
  std::vector<std::string> entries = split_patterns(files_arg);
  for (const std::string& e : entries) {
    bool found = false;
    for (const auto& [rel, abs] : files) found = found || rel == e;
    if (!found) log("publishHTML: '" + e + "' is not in " + dir.string());
  }
  std::string error;
  for (const auto& [rel, abs] : files) {
    if (!job_.host.upload_report_file(name, rel, abs, error))
      return StepStatus::failure("publishHTML: " + rel + ": " + error);
  }
  nlohmann::json index = {{"name", name},
                          {"title", titles.empty() ? name : split_patterns(titles)[0]},
                          {"files", entries},
                          {"count", files.size()},
                          {"bytes", bytes}};
  std::string path;
  if (!temp_path("report.json", path, error)) return StepStatus::failure("publishHTML: " + error);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << index.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!out) return StepStatus::failure("publishHTML: cannot write " + path);
  }
  bool kept = job_.host.upload_report_index(name, path, error);
  fs::remove(path, ec);
  if (!kept) return StepStatus::failure("publishHTML: " + error);
  log("Published HTML report '" + name + "': " + std::to_string(files.size()) + " file(s), " +
      std::to_string(bytes) + " bytes");
  return StepStatus{};
}

StepStatus StepRunner::record_issues(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  std::vector<const Node*> tools = elements(step.arg("tools", StepArgs::kNamed));
  for (const Node* t : elements(step.arg("tool", 0))) tools.push_back(t);
  std::string id = text(args, step.arg("id", StepArgs::kNamed));
  std::string name = text(args, step.arg("name", StepArgs::kNamed));
  const bool for_failure = flag(args, step.arg("enabledForFailure", StepArgs::kNamed), false);
  const bool ignore_gates = flag(args, step.arg("ignoreQualityGate", StepArgs::kNamed), false);
  if (!args.ok()) return args.failure();
  if (!for_failure && job_.overall() == Result::Failure) {
    log("recordIssues: skipped, as the result is already FAILURE (enabledForFailure: true "
        "records anyway)");
    return StepStatus{};
  }
  std::vector<Issue> issues;
  std::vector<std::string> used, used_names;  // the tools read: ids, names
  for (const Node* t : tools) {
    // checkStyle(...) as written, or [$class: 'CheckStyle'] (the class's simple name).
    std::string tool = t->kind == NodeKind::Call  ? t->text
                       : t->kind == NodeKind::Map ? text(args, field(t, "$class"))
                                                  : text(args, t);
    tool = tool.substr(tool.rfind('.') + 1);
    if (t->kind == NodeKind::Map && !tool.empty())
      tool[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(tool[0])));
    std::optional<IssueTool> known = issue_tool(tool);
    if (!known) {
      log("recordIssues: " + tool +
          "() is not supported by Gantry, which reads the report files of " +
          supported_issue_tools() + " (console-log parsers such as java() and gcc() are not)");
      continue;
    }
    std::string tool_id = text(args, field(t, "id"), std::string(known->id));
    GlobOptions glob;
    glob.includes = text(args, field(t, "pattern"), default_pattern(known->id));
    if (!args.ok()) return args.failure();
    if (glob.includes.empty()) {
      log("recordIssues: " + tool + "() has no pattern: name its report files");
      continue;
    }
    std::vector<std::string> files;
    std::string error;
    if (!ant_glob(scope.cwd, glob, files, error))
      return StepStatus::failure("recordIssues: " + error);
    if (files.empty())
      log("recordIssues: no files match '" + glob.includes + "' for " + tool + "()");
    size_t before = issues.size();
    for (const std::string& rel : files) {
      const std::string abs = (fs::path(scope.cwd) / rel).string();
      std::error_code ec;
      const uintmax_t size = fs::file_size(abs, ec);
      if (ec || size > kMaxIssuesFileBytes) {
        log("recordIssues: skipped " + rel + ": " + (ec ? ec.message() : "over 64 MiB"));
        continue;
      }
      std::ifstream in(abs, std::ios::binary);
      std::string body(static_cast<size_t>(size), '\0');
      in.read(body.data(), static_cast<std::streamsize>(size));
      if (!parse_issues(known->format, body, tool_id, issues, error))
        log("recordIssues: skipped " + rel + ": " + error);
    }
    log("recordIssues: " + tool + "() found " + std::to_string(issues.size() - before) +
        " issue(s) in " + std::to_string(files.size()) + " file(s)");
    used.push_back(tool_id);
    used_names.push_back(tool);
  }
  if (used.empty()) {
    log("recordIssues: no supported tool: nothing recorded");
    return StepStatus{};
  }
  if (id.empty()) id = used.size() == 1 ? used[0] : "analysis";
  if (name.empty()) name = used_names.size() == 1 ? used_names[0] : "Static Analysis";
  // Quality gates: [[threshold: N, type: 'TOTAL', unstable: true]] or criticality: 'FAILURE'.
  std::vector<GateOutcome> gates;
  Result result = Result::Success;
  std::string why;
  for (const Node* g : elements(step.arg("qualityGates", StepArgs::kNamed))) {
    GateOutcome o;
    auto threshold = g->kind == NodeKind::Map ? field(g, "threshold") : nullptr;
    auto v = threshold ? args.eval(*threshold) : std::nullopt;
    if (!args.ok()) return args.failure();
    if (!v || !v->is_number()) {
      log("recordIssues: a quality gate without a numeric threshold is ignored");
      continue;
    }
    o.gate.threshold =
        v->is_int() ? std::get<int64_t>(v->data) : static_cast<int64_t>(std::get<double>(v->data));
    o.gate.type = text(args, field(g, "type"), "TOTAL");
    std::string criticality = text(args, field(g, "criticality"));
    const bool unstable = flag(args, field(g, "unstable"), true);
    o.gate.result = criticality == "FAILURE" || criticality == "ERROR" ? "FAILURE"
                    : criticality == "NOTE"                            ? "NOTE"
                    : criticality.empty() && !unstable                 ? "FAILURE"
                                                                       : "UNSTABLE";
    std::optional<int64_t> count = gate_count(o.gate, issues);
    if (!count) {
      log("recordIssues: quality gate type " + o.gate.type +
          " is not evaluated (TOTAL, TOTAL_ERROR, TOTAL_HIGH, TOTAL_NORMAL, TOTAL_LOW are)");
      continue;
    }
    o.actual = *count;
    o.passed = *count < o.gate.threshold || ignore_gates;
    if (!o.passed) {
      const std::string line = "quality gate " + o.gate.type +
                               " >= " + std::to_string(o.gate.threshold) +
                               " failed: " + std::to_string(*count) + " issue(s)";
      log("recordIssues: " + line + " -> " + o.gate.result);
      if (why.empty()) why = line;
      if (o.gate.result != "NOTE")
        result = pipelines::worse(result,
                                  o.gate.result == "FAILURE" ? Result::Failure : Result::Unstable);
    }
    gates.push_back(o);
  }
  const std::string result_name = pipelines::result_name(result);
  const size_t total = issues.size();
  std::string path, error;
  if (!temp_path("issues.json", path, error)) return StepStatus::failure("recordIssues: " + error);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << issues_report_json(id, name, std::move(issues), gates, result_name);
    if (!out) return StepStatus::failure("recordIssues: cannot write " + path);
  }
  bool kept = job_.host.upload_issues(id, path, error);
  std::error_code ec;
  fs::remove(path, ec);
  if (!kept) log("recordIssues: the summary was not kept (" + error + ")");
  log("recordIssues: " + name + ": " + std::to_string(total) + " issue(s)");
  if (result == Result::Unstable) job_.mark_unstable(why);
  if (result == Result::Failure) {
    job_.stage_result = pipelines::worse(job_.stage_result, Result::Failure);
    job_.build_result = pipelines::worse(job_.build_result, Result::Failure);
    if (job_.reason.empty()) job_.reason = why;
  }
  return StepStatus{};
}

}  // namespace gantry::agent
