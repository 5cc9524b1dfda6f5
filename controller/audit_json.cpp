// The audit entry's canonical JSON (what its hash covers) and the API's
// audit bodies.
#include <nlohmann/json.hpp>

#include "audit.hpp"

namespace gantry::controller {

namespace {

// nlohmann's default object is a std::map: keys come out sorted bytewise.
nlohmann::json entry_json(const AuditRecord& entry) {
  nlohmann::json details = nlohmann::json::object();
  for (const auto& [key, value] : entry.details) details[key] = value;
  return {{"id", entry.id},
          {"at", entry.at},
          {"actor", entry.actor},
          {"action", entry.action},
          {"subject", entry.subject},
          {"details", std::move(details)},
          {"prev_hash", entry.prev_hash}};
}

std::string dump(const nlohmann::json& j) {
  // Compact, UTF-8 as is, invalid bytes replaced rather than thrown: actors,
  // subjects and details carry request paths and other user input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string valid_utf8(const std::string& text) {
  return nlohmann::json::parse(dump(nlohmann::json(text))).get<std::string>();
}

}  // namespace

std::string audit_canonical_json(const AuditRecord& entry) {
  return dump(entry_json(entry));
}

void audit_normalize(AuditRecord& entry) {
  entry.actor = valid_utf8(entry.actor);
  entry.action = valid_utf8(entry.action);
  entry.subject = valid_utf8(entry.subject);
  std::map<std::string, std::string> details;
  for (const auto& [key, value] : entry.details) {
    // Keys differing only in invalid bytes merge: the last wins.
    details[valid_utf8(key)] = valid_utf8(value);
  }
  entry.details = std::move(details);
}

std::string audit_entries_json(const std::vector<AuditRecord>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const AuditRecord& entry : entries) {
    nlohmann::json j = entry_json(entry);
    j["hash"] = entry.hash;
    list.push_back(std::move(j));
  }
  return dump({{"entries", std::move(list)}});
}

std::string audit_verification_json(const AuditVerification& result) {
  nlohmann::json j = {{"ok", result.ok}, {"entries", result.entries}};
  if (!result.ok) {
    j["first_broken"] = result.first_broken;
    j["reason"] = result.reason;
  }
  return dump(j);
}

}  // namespace gantry::controller
