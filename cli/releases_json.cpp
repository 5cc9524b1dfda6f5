// `gantry releases`: the release ledger as a table, and as SPEC §10's list.
#include <nlohmann/json.hpp>

#include "approvals.hpp"

namespace gantry::cli {

using nlohmann::json;

namespace {

std::string text(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string releases_table(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("releases") || !j["releases"].is_array()) return "";
  if (j["releases"].empty()) return "no releases\n";
  std::string out = "RELEASE  ENVIRONMENT   STATUS       RUN   COMMIT        PREVIOUS  GMUD\n";
  for (const auto& r : j["releases"]) {
    if (!r.is_object()) continue;
    std::string status = text(r, "status") + (r.value("current", false) ? "*" : "");
    char line[512];
    std::snprintf(line, sizeof line, "%-8s %-13s %-12s %-5s %-13s %-9s %s\n", text(r, "id").c_str(),
                  text(r, "environment").c_str(), status.c_str(), text(r, "run").c_str(),
                  text(r, "commit").substr(0, 12).c_str(), text(r, "previous").c_str(),
                  text(r, "gmud").c_str());
    out += line;
  }
  return out + "(* the environment's current release)\n";
}

std::string releases_items_json(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("releases")) return "[]";
  return j["releases"].dump(2);
}

int64_t rollback_run_id(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  return j.is_object() && j.contains("run") && j["run"].is_number_integer()
             ? j["run"].get<int64_t>()
             : 0;
}

std::string release_field(const std::string& body, const char* key) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace gantry::cli
