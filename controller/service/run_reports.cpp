// A run's published reports (docs/reports.md): publishHTML's files served to whoever may read
// the run, under a Content-Security-Policy that keeps the report's own scripts from ever
// running with the user's session; recordIssues' summaries.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <tuple>

#include "service/api_json.hpp"
#include "service/reports_json.hpp"
#include "service/run_service.hpp"

namespace gantry::controller {

namespace {

// No scripts, no plugins, no forms, no connections; images and styles from the controller
// only; `sandbox` without allow-scripts or allow-same-origin gives the page an opaque origin.
constexpr const char* kReportPolicy =
    "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox";

constexpr uint64_t kMaxStoredText = uint64_t{8} << 20;

std::string content_type(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".log", "text/plain; charset=utf-8"},
      {".xml", "application/xml"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".pdf", "application/pdf"}};
  std::string lower;
  for (char c : path) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [ext, type] : kTypes) {
    if (lower.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

// The records of `kind` with their texts, in the order of their stages.
std::vector<StoredText> stored_texts(std::vector<ArtifactRecord> records, std::string_view kind,
                                     const std::vector<StageRecord>& stages) {
  std::map<std::string, int> order;
  for (const StageRecord& s : stages) order[s.stage_id] = s.order;
  std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
    return std::tuple(order[a.stage_id], a.created_at) <
           std::tuple(order[b.stage_id], b.created_at);
  });
  std::vector<StoredText> out;
  for (ArtifactRecord& a : records) {
    if (a.kind != kind || a.size > kMaxStoredText) continue;
    std::ifstream in(a.file, std::ios::binary);
    if (!in) continue;  // pruned
    std::string text(std::istreambuf_iterator<char>(in), {});
    out.emplace_back(std::move(a), std::move(text));
  }
  return out;
}

}  // namespace

net::Response RunService::get_report(int64_t id, const std::string& name, const std::string& path) {
  auto a = store_.runs().artifact(id, "report_file", name + "/" + path);
  if (!a)
    return error(404, "not_found",
                 "run " + std::to_string(id) + " has no report '" + name + "' file '" + path + "'");
  net::Response r;
  r.content_type = content_type(path);
  r.file_path = a->file;
  r.headers.push_back({"Content-Security-Policy", kReportPolicy});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
  r.headers.push_back({"Cross-Origin-Resource-Policy", "same-origin"});
  r.headers.push_back({"Cache-Control", "private, no-cache"});
  return r;
}

net::Response RunService::list_issues(int64_t id) {
  net::Response r;  // the route found the run
  r.body =
      issues_json(stored_texts(store_.runs().artifacts(id), "issues", store_.runs().stages(id)));
  return r;
}

std::string RunService::with_reports(std::string run_json, int64_t id) {
  std::vector<ArtifactRecord> records = store_.runs().artifacts(id);
  const bool any = std::any_of(records.begin(), records.end(), [](const auto& a) {
    return a.kind == "report" || a.kind == "issues";
  });
  if (!any) return run_json;
  const std::vector<StageRecord> stages = store_.runs().stages(id);
  std::vector<StoredText> reports = stored_texts(records, "report", stages);
  std::vector<StoredText> issues = stored_texts(std::move(records), "issues", stages);
  if (reports.empty() && issues.empty()) return run_json;
  return run_with_reports(run_json, id, reports, issues);
}

}  // namespace gantry::controller
