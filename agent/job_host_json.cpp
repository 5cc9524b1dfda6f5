#include <cmath>
#include <nlohmann/json.hpp>

#include "job_host.hpp"

namespace gantry::agent {

std::string input_question_json(const InputQuestion& q) {
  nlohmann::json j = {{"id", q.id},
                      {"message", q.message},
                      {"ok", q.ok},
                      {"submitter", q.submitter},
                      {"submitter_parameter", q.submitter_parameter}};
  if (!q.parameters.empty()) {
    nlohmann::json params = nlohmann::json::array();
    for (const InputQuestion::Parameter& p : q.parameters) {
      params.push_back({{"name", p.name},
                        {"type", p.type},
                        {"default", p.default_value},
                        {"description", p.description},
                        {"choices", p.choices}});
    }
    j["parameters"] = std::move(params);
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

InputReply parse_input_reply(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  InputReply r;
  if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) {
    r.status = "error";
    r.reason = "the controller's answer is not an input reply";
    return r;
  }
  auto str = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  r.status = str("status");
  r.name = str("id");
  r.approver = str("approver");
  r.reason = str("reason");
  auto values = j.find("values");
  if (values != j.end() && values->is_object()) {
    for (const auto& [name, v] : values->items()) {
      if (v.is_string()) r.values[name] = v.get<std::string>();
    }
  }
  return r;
}

bool parse_prometheus_samples(const std::string& body, std::vector<double>& out,
                              std::string& error) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json* result = nullptr;
  if (j.is_object() && j.contains("data") && j["data"].is_object() &&
      j["data"].contains("result") && j["data"]["result"].is_array())
    result = &j["data"]["result"];
  if (!result) {
    error = "not a Prometheus query result ({\"data\": {\"result\": [...]}})";
    return false;
  }
  auto take = [&](const nlohmann::json& pair) {
    if (!pair.is_array() || pair.size() != 2) return;
    const nlohmann::json& v = pair[1];
    try {
      double d = v.is_string() ? std::stod(v.get<std::string>()) : v.get<double>();
      if (std::isfinite(d)) out.push_back(d);  // NaN and Inf markers are not samples
    } catch (const std::exception&) {
      // neither is anything else that is not a number
    }
  };
  for (const auto& series : *result) {
    if (!series.is_object()) continue;
    if (series.contains("values") && series["values"].is_array()) {
      for (const auto& pair : series["values"]) take(pair);
    } else if (series.contains("value")) {
      take(series["value"]);
    }
  }
  return true;
}

}  // namespace gantry::agent
