#include "service/reports_json.hpp"

#include <nlohmann/json.hpp>

#include "gantry/net/url.hpp"

namespace gantry::controller {

using nlohmann::json;

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parsed(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j.is_object() ? j : json();
}

json counts(const json& j, const char* key) {
  auto it = j.find(key);
  json out = json::object();
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_number_integer()) out[k] = v;
  }
  return out;
}

void add_counts(json& into, const json& from) {
  for (const auto& [k, v] : from.items()) into[k] = into.value(k, int64_t{0}) + v.get<int64_t>();
}

int severity_of(const std::string& result) {
  return result == "FAILURE" ? 2 : result == "UNSTABLE" ? 1 : 0;
}

}  // namespace

std::string report_url(int64_t run_id, const std::string& name, const std::string& path) {
  std::string out = "/api/v1/runs/" + std::to_string(run_id) + "/reports/" + net::url_encode(name);
  size_t start = 0;
  while (start <= path.size() && !path.empty()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    out += "/" + net::url_encode(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string run_with_reports(const std::string& run_json, int64_t run_id,
                             const std::vector<StoredText>& reports,
                             const std::vector<StoredText>& issues) {
  if (reports.empty() && issues.empty()) return run_json;
  json run = json::parse(run_json, nullptr, false);
  if (!run.is_object()) return run_json;
  json list = json::array();
  for (const auto& [rec, text] : reports) {
    json index = parsed(text);
    if (index.is_null()) continue;
    json files = json::array(), links = json::array();
    if (auto f = index.find("files"); f != index.end() && f->is_array()) {
      for (const json& file : *f) {
        if (!file.is_string()) continue;
        files.push_back(file);
        links.push_back({{"file", file}, {"url", report_url(run_id, rec.name, file)}});
      }
    }
    list.push_back({{"name", rec.name},
                    {"title", index.value("title", rec.name)},
                    {"stage", rec.stage_id},
                    {"files", files},
                    {"count", index.value("count", int64_t{0})},
                    {"bytes", index.value("bytes", int64_t{0})},
                    {"url", links.empty() ? json(nullptr) : links[0]["url"]},
                    {"links", links}});
  }
  if (!list.empty()) run["reports"] = std::move(list);
  json summaries = json::array(), by_severity = json::object(), by_tool = json::object();
  int64_t total = 0;
  std::string result = "SUCCESS";
  for (const auto& [rec, text] : issues) {
    json s = parsed(text);
    if (s.is_null()) continue;
    json one = {
        {"id", s.value("id", "")},
        {"name", s.value("name", "")},
        {"stage", rec.stage_id},
        {"total", s.value("total", int64_t{0})},
        {"by_severity", counts(s, "by_severity")},
        {"by_tool", counts(s, "by_tool")},
        {"gates", s.contains("gates") && s["gates"].is_array() ? s["gates"] : json::array()},
        {"result", s.value("result", "SUCCESS")}};
    total += one["total"].get<int64_t>();
    add_counts(by_severity, one["by_severity"]);
    add_counts(by_tool, one["by_tool"]);
    if (severity_of(one["result"]) > severity_of(result)) result = one["result"];
    summaries.push_back(std::move(one));
  }
  if (!summaries.empty()) {
    run["issues"] = {{"total", total},
                     {"by_severity", by_severity},
                     {"by_tool", by_tool},
                     {"result", result},
                     {"url", "/api/v1/runs/" + std::to_string(run_id) + "/issues"},
                     {"summaries", std::move(summaries)}};
  }
  return dump(run);
}

std::string issues_json(const std::vector<StoredText>& issues) {
  json list = json::array();
  for (const auto& [rec, text] : issues) {
    json s = parsed(text);
    if (s.is_null()) continue;
    s["stage"] = rec.stage_id;
    list.push_back(std::move(s));
  }
  return dump(json{{"summaries", std::move(list)}});
}

}  // namespace gantry::controller
