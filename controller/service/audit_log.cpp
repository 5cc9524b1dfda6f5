#include "service/audit_log.hpp"

#include <algorithm>
#include <vector>

#include "gantry/common/log.hpp"

namespace gantry::controller {

namespace {

// Entries read per query while verifying: bounded memory for any log size.
constexpr size_t kVerifyPage = 5000;
constexpr size_t kMaxListLimit = 5000;

// Refusals are warnings in the daemon log; everything else is information.
bool is_refusal(const std::string& action) {
  return action.ends_with(".denied") || action.ends_with(".refused");
}

}  // namespace

Status AuditLog::record(const std::string& actor, const std::string& action,
                        const std::string& subject,
                        const std::map<std::string, std::string>& details) {
  AuditRecord entry;
  entry.at = clock_.now_ms();
  entry.actor = actor;
  entry.action = action;
  entry.subject = subject;
  entry.details = details;
  Status stored = store_.audit().append_audit(entry);
  const std::string id = std::to_string(entry.id);
  // The same line as before the table existed: operators grep for
  // comp=audit and user=NAME.
  std::vector<log::Field> fields = {{"user", actor}, {"subject", subject}};
  for (const auto& [key, value] : details) fields.emplace_back(key, value);
  if (stored) fields.emplace_back("entry", id);
  log::write_fields(is_refusal(action) ? log::Level::Warn : log::Level::Info, "audit", action,
                    fields);
  if (!stored) {
    log::error("audit", "append_failed",
               {{"user", actor}, {"action", action}, {"error", stored.error().message}});
  }
  return stored;
}

void AuditLog::refused(const Principal& who, const std::string& subject, const std::string& reason,
                       std::map<std::string, std::string> details) {
  const int64_t now = clock_.now_ms();
  Window& w = windows_[who.name];
  if (now - w.start >= kWindowMs) {
    if (w.suppressed > 0) {
      (void)record(who.name, "permission.denied.suppressed", "(rate limit)",
                   {{"count", std::to_string(w.suppressed)},
                    {"window_s", std::to_string(kWindowMs / 1000)}});
    }
    w = Window{now, 0, 0};
  }
  if (++w.count > kRefusalsPerWindow) {
    ++w.suppressed;
    return;
  }
  details["reason"] = reason;
  if (!details.count("role")) details["role"] = who.is_agent ? "agent" : role_name(who.role);
  (void)record(who.name, "permission.denied", subject, details);
  // Bounded: a principal's window is dropped once it is over and empty.
  if (windows_.size() > 10'000) {
    std::erase_if(windows_, [&](const auto& kv) {
      return now - kv.second.start >= kWindowMs && kv.second.suppressed == 0;
    });
  }
}

Result<std::string> AuditLog::list_json(int64_t after, size_t limit) {
  auto entries = store_.audit().audit_entries(after, std::min(limit, kMaxListLimit));
  if (!store_.healthy() && entries.empty()) return store_.last_failure();
  return audit_entries_json(entries);
}

Result<AuditVerification> AuditLog::verify() {
  const int64_t now = clock_.now_ms();
  if (full_pass_at_ < 0 || now - full_pass_at_ >= kFullVerifyEveryMs) {
    verifier_ = AuditVerifier();
    verified_to_ = 0;
    full_pass_at_ = now;
  }
  for (;;) {
    std::vector<AuditRecord> page = store_.audit().audit_entries(verified_to_, kVerifyPage);
    for (const AuditRecord& entry : page) verifier_.add(entry);
    if (!page.empty()) verified_to_ = page.back().id;
    if (page.size() < kVerifyPage) break;
  }
  const AuditVerification& result = verifier_.result();
  if (!result.ok) {
    log::warn("audit", "verify.broken",
              {{"entry", std::to_string(result.first_broken)}, {"reason", result.reason}});
  }
  return result;
}

}  // namespace gantry::controller
