#include <nlohmann/json.hpp>

#include "job_host.hpp"

namespace gantry::agent {

std::string input_question_json(const InputQuestion& q) {
  nlohmann::json j = {{"id", q.id},
                      {"message", q.message},
                      {"ok", q.ok},
                      {"submitter", q.submitter},
                      {"submitter_parameter", q.submitter_parameter}};
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
  return r;
}

}  // namespace gantry::agent
