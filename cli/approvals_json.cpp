// `gantry approvals`, `approve` and `reject`: views of the approvals API's
// JSON, and the body of a decision.
#include <nlohmann/json.hpp>

#include "approvals.hpp"

namespace gantry::cli {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string since(int64_t at, int64_t now) {
  if (at == 0) return "";
  int64_t s = (now - at) / 1000;
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  return std::to_string(s / 3600) + "h ago";
}

std::string names(const json& list) {
  std::string out;
  for (const auto& d : list) out += (out.empty() ? "" : ", ") + str(d, "user");
  return out;
}

void describe(const json& a, int64_t now, std::string& out) {
  const bool gmud = str(a, "kind") == "gmud";
  size_t approvals = a.value("approvals", json::array()).size();
  out += str(a, "id") + "  " + str(a, "status") + "  ";
  out += gmud ? "deploy to " + str(a, "environment") : std::string("input");
  out += "  run " + std::to_string(num(a, "run")) + " stage " + str(a, "stage");
  out += "  " + std::to_string(approvals) + "/" + std::to_string(num(a, "required")) + " approval" +
         (num(a, "required") == 1 ? "" : "s");
  out += "  requested " + since(num(a, "requested_at"), now) + "\n";
  if (gmud && !str(a, "title").empty()) out += "  " + str(a, "title") + "\n";
  if (!gmud && !str(a, "message").empty()) out += "  " + str(a, "message") + "\n";
  if (gmud) {
    std::string commit = str(a, "commit").substr(0, 12);
    if (!commit.empty()) out += "  commit " + commit;
    size_t n = a.value("range", json::array()).size();
    out += str(a, "range_unknown").empty()
               ? "  " + std::to_string(n) + " commit" + (n == 1 ? "" : "s") + " in range"
               : std::string("  range unknown");
    if (!str(a, "impact").empty()) out += "  impact " + str(a, "impact");
    out += "\n";
    // What an approval approves: the run's parameters (passwords masked).
    const json params = a.value("run_parameters", json::object());
    if (params.is_object() && !params.empty()) {
      out += "  parameters:";
      for (const auto& [k, v] : params.items())
        out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
      out += "\n";
    }
  }
  if (approvals) out += "  approved by " + names(a["approvals"]) + "\n";
  for (const auto& b : a.value("blocked_by", json::array())) {
    if (b.is_string()) out += "  - " + b.get<std::string>() + "\n";
  }
}

}  // namespace

std::string approvals_table(const std::string& body, int64_t now) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("approvals") || !j["approvals"].is_array()) return "";
  std::string out;
  for (const auto& a : j["approvals"]) {
    if (a.is_object()) describe(a, now, out);
  }
  return out.empty() ? "no change requests\n" : out;
}

std::string approvals_items_json(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("approvals")) return "[]";
  return j["approvals"].dump(2);
}

std::string decision_summary(const std::string& body, int64_t now) {
  json a = json::parse(body, nullptr, false);
  if (!a.is_object()) return body + "\n";
  std::string out;
  describe(a, now, out);
  const bool approved = parse_approval_status(str(a, "status")) == ApprovalStatus::Approved;
  const bool blocked = !a.value("blocked_by", json::array()).empty();
  if (approved && !blocked) out += "the gate is open: the stage goes on\n";
  if (approved && blocked) out += "approved, but the stage waits until the above clears\n";
  return out;
}

std::string decision_body(const std::string& comment,
                          const std::map<std::string, std::string>& params) {
  json j = {{"comment", comment}};
  if (!params.empty()) j["parameters"] = params;
  return j.dump();
}

}  // namespace gantry::cli
