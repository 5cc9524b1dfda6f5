// The audit log from the service's side: recording an entry (table and
// daemon log), GET /api/v1/audit and GET /api/v1/audit/verify.
#include <charconv>
#include <vector>

#include "audit.hpp"
#include "gantry/common/log.hpp"
#include "service/api_json.hpp"
#include "service/controller.hpp"

namespace gantry::controller {

namespace {

constexpr size_t kDefaultListLimit = 500;
constexpr size_t kMaxListLimit = 5000;
// Entries read per query while verifying: bounded memory for any log size.
constexpr size_t kVerifyPage = 5000;

// A query parameter as a non-negative integer; `fallback` when absent.
bool query_number(const net::Request& req, const std::string& key, int64_t fallback, int64_t& out) {
  auto it = req.query.find(key);
  if (it == req.query.end()) {
    out = fallback;
    return true;
  }
  const std::string& v = it->second;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() && out >= 0;
}

// Refusals are warnings in the daemon log; everything else is information.
bool is_refusal(const std::string& action) {
  return action.ends_with(".denied") || action.ends_with(".refused");
}

}  // namespace

void Controller::audit(const std::string& actor, const std::string& action,
                       const std::string& subject,
                       const std::map<std::string, std::string>& details) {
  AuditRecord entry;
  entry.at = now();
  entry.actor = actor;
  entry.action = action;
  entry.subject = subject;
  entry.details = details;
  const bool stored = store_->append_audit(entry);
  const std::string id = std::to_string(entry.id);
  // The same line as before the table existed: operators grep for
  // comp=audit and user=NAME.
  std::vector<log::Field> fields = {{"user", actor}, {"subject", subject}};
  for (const auto& [key, value] : details) fields.emplace_back(key, value);
  if (stored) fields.emplace_back("entry", id);
  log::write_fields(is_refusal(action) ? log::Level::Warn : log::Level::Info, "audit", action,
                    fields);
  if (!stored) log::error("audit", "append_failed", {{"user", actor}, {"action", action}});
}

net::Response Controller::list_audit(const net::Request& req) {
  int64_t after = 0;
  int64_t limit = 0;
  if (!query_number(req, "after", 0, after))
    return error(400, "bad_request", "after must be an entry id (a non-negative integer)");
  if (!query_number(req, "limit", kDefaultListLimit, limit) || limit == 0)
    return error(400, "bad_request", "limit must be a positive integer");
  net::Response r;
  r.body = audit_entries_json(
      store_->audit_entries(after, std::min(static_cast<size_t>(limit), kMaxListLimit)));
  return r;
}

net::Response Controller::verify_audit() {
  AuditVerifier verifier;
  int64_t after = 0;
  for (;;) {
    std::vector<AuditRecord> page = store_->audit_entries(after, kVerifyPage);
    for (const AuditRecord& entry : page) verifier.add(entry);
    if (page.size() < kVerifyPage) break;
    after = page.back().id;
  }
  const AuditVerification& result = verifier.result();
  if (!result.ok) {
    log::warn("audit", "verify.broken",
              {{"entry", std::to_string(result.first_broken)}, {"reason", result.reason}});
  }
  // 200 either way: the request worked; its answer is that the log is broken.
  net::Response r;
  r.body = audit_verification_json(result);
  return r;
}

}  // namespace gantry::controller
