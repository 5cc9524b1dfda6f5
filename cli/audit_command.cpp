// gantry audit [--json]: the audit log, oldest first, every page of it.
// gantry audit verify [--json]: the controller checks the hash chain; exit 0
// when it holds, 1 naming the first broken entry.
#include <ostream>

#include "gantry/common/time_zone.hpp"
#include "remote.hpp"

namespace gantry::cli {

namespace {

// The API's maximum page: fewer round trips for a long log.
constexpr int kPage = 5000;

std::string padded(const std::string& text, size_t width) {
  return text + std::string(text.size() < width ? width - text.size() + 1 : 1, ' ');
}

// key=value pairs, quoted as in the daemon log (logfmt) so one entry stays
// one line.
std::string details_text(const std::map<std::string, std::string>& details) {
  std::string out;
  for (const auto& [key, value] : details) {
    if (!out.empty()) out += ' ';
    out += key + '=';
    if (!value.empty() && value.find_first_of(" \"=\t\n\\") == std::string::npos) {
      out += value;
      continue;
    }
    out += '"';
    for (char ch : value) {
      if (ch == '\n') {
        out += "\\n";
        continue;
      }
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out;
}

int list(const Remote& r, bool json, std::ostream& out, std::ostream& err) {
  std::vector<AuditEntryView> entries;
  int64_t after = 0;
  for (;;) {
    auto resp =
        call(r, "GET",
             "/api/v1/audit?after=" + std::to_string(after) + "&limit=" + std::to_string(kPage));
    if (!resp.ok || resp.status != 200) return report(resp, "audit", err);
    size_t before = entries.size();
    if (!parse_audit_entries(resp.body, entries)) {
      err << "gantry: audit: the controller's answer is not an audit page\n";
      return 2;
    }
    if (entries.size() - before < static_cast<size_t>(kPage)) break;
    after = entries.back().id;
  }
  if (json) {
    out << audit_entries_json(entries) << "\n";
    return 0;
  }
  out << "ID     TIME                  ACTOR        ACTION              SUBJECT                  "
         "DETAILS\n";
  for (const AuditEntryView& e : entries) {
    // Padded, never cut: a long subject shifts its row rather than lose text.
    std::string line = padded(std::to_string(e.id), 6) + padded(utc_text(e.at), 21) +
                       padded(e.actor, 12) + padded(e.action, 19) + padded(e.subject, 24) +
                       details_text(e.details);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
  return 0;
}

int verify(const Remote& r, bool json, std::ostream& out, std::ostream& err) {
  auto resp = call(r, "GET", "/api/v1/audit/verify");
  if (!resp.ok || resp.status != 200) return report(resp, "audit verify", err);
  AuditVerifyView v;
  if (!parse_audit_verify(resp.body, v)) {
    err << "gantry: audit verify: the controller's answer is not a verification\n";
    return 2;
  }
  if (json) {
    out << resp.body << "\n";
  } else if (v.ok) {
    out << "audit log verified: " << v.entries << (v.entries == 1 ? " entry\n" : " entries\n");
  } else {
    out << "audit log broken at entry " << v.first_broken << ": " << v.reason << "\n";
  }
  return v.ok ? 0 : 1;
}

}  // namespace

int audit_command(const Remote& r, const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err) {
  bool json = false;
  bool check = false;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "verify" && !check) {
      check = true;
    } else {
      return usage_error(err, "audit", "unexpected argument '" + a + "'");
    }
  }
  return check ? verify(r, json, out, err) : list(r, json, out, err);
}

}  // namespace gantry::cli
