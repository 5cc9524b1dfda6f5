#include <chrono>
#include <ostream>
#include <thread>

#include "approvals.hpp"
#include "gantry/net/url.hpp"

namespace gantry::cli {

namespace {

int inbox(const Remote& r, const std::vector<std::string>& args, std::ostream& out,
          std::ostream& err) {
  bool json = false, all = false;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else if (a == "--all") {
      all = true;
    } else {
      return usage_error(err, "approvals", "unknown argument '" + a + "'");
    }
  }
  auto resp = call(r, "GET", all ? "/api/v1/approvals" : "/api/v1/approvals?status=pending");
  if (!resp.ok || resp.status != 200) return report(resp, "approvals", err);
  out << (json ? approvals_items_json(resp.body) + "\n" : approvals_table(resp.body, now_ms()));
  return 0;
}

int decide(const Remote& r, const std::string& cmd, const std::vector<std::string>& args,
           std::ostream& out, std::ostream& err) {
  std::string id, comment;
  bool has_comment = false, json = false;
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "--comment" || a == "-m") && i + 1 < args.size()) {
      comment = args[++i];
      has_comment = true;
    } else if ((a == "-p" || a == "--param") && i + 1 < args.size() &&
               args[i + 1].find('=') != std::string::npos) {
      const std::string& kv = args[++i];
      params[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] != '-' && id.empty()) {
      id = a;
    } else {
      return usage_error(err, cmd, "unexpected argument '" + a + "'");
    }
  }
  if (id.empty()) return usage_error(err, cmd, "give a change request (GMUD-N or INPUT-N)");
  if (cmd == "reject" && (!has_comment || comment.empty()))
    return usage_error(err, cmd, "a rejection needs --comment saying why");
  auto resp =
      call(r, "POST", "/api/v1/approvals/" + id + "/" + cmd, decision_body(comment, params));
  if (resp.ok && (resp.status == 403 || resp.status == 409 || resp.status == 400)) {
    err << "gantry " << cmd << ": " << error_message(resp.body) << "\n";
    return resp.status == 400 ? 2 : 1;
  }
  if (!resp.ok || resp.status != 200) return report(resp, cmd + " " + id, err);
  out << (json ? resp.body + "\n" : decision_summary(resp.body, now_ms()));
  return 0;
}

int releases(const Remote& r, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
  bool json = false;
  std::string env;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--env" && i + 1 < args.size()) {
      env = args[++i];
    } else {
      return usage_error(err, "releases", "unknown argument '" + args[i] + "'");
      return 2;
    }
  }
  auto resp =
      call(r, "GET", "/api/v1/releases" + (env.empty() ? "" : "?env=" + net::url_encode(env)));
  if (!resp.ok || resp.status != 200) return report(resp, "releases", err);
  out << (json ? releases_items_json(resp.body) + "\n" : releases_table(resp.body));
  return 0;
}

// gantry rollback R-n [--comment C] [--no-wait]: starts the rollback run
// and follows it; exit status as `gantry wait`.
int rollback(const Remote& r, const std::vector<std::string>& args, std::ostream& out,
             std::ostream& err) {
  std::string id, comment;
  bool wait = true;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--comment" || args[i] == "-m") && i + 1 < args.size()) {
      comment = args[++i];
    } else if (args[i] == "--no-wait") {
      wait = false;
    } else if (id.empty() && !args[i].empty() && args[i][0] != '-') {
      id = args[i];
    } else {
      return usage_error(err, "rollback", "unexpected argument '" + args[i] + "'");
    }
  }
  if (id.empty()) return usage_error(err, "rollback", "give a release (R-N)");
  auto resp = call(r, "POST", "/api/v1/releases/" + net::url_encode(id) + "/rollback",
                   decision_body(comment, {}));
  if (resp.ok && (resp.status == 403 || resp.status == 409 || resp.status == 404)) {
    err << "gantry rollback: " << error_message(resp.body) << "\n";
    return 1;
  }
  if (!resp.ok || resp.status != 202) return report(resp, "rollback " + id, err);
  int64_t run = rollback_run_id(resp.body);
  out << "rolling back " << id << ": run " << run << "\n";
  return wait && run > 0 ? follow_run(r, run, false, out, err) : 0;
}

// gantry promote R-n [--comment C]: a paused canary goes on.
// gantry abort R-n [--comment C] [--no-wait]: a deploy in progress rolls
// back now; waits for the release to end (exit 0 rolled back, 1 not).
int steer(const Remote& r, const std::string& cmd, const std::vector<std::string>& args,
          std::ostream& out, std::ostream& err) {
  std::string id, comment;
  bool wait = cmd == "abort";
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "--comment" || args[i] == "-m") && i + 1 < args.size()) {
      comment = args[++i];
    } else if (args[i] == "--no-wait" && cmd == "abort") {
      wait = false;
    } else if (id.empty() && !args[i].empty() && args[i][0] != '-') {
      id = args[i];
    } else {
      return usage_error(err, cmd, "unexpected argument '" + args[i] + "'");
    }
  }
  if (id.empty()) return usage_error(err, cmd, "give a release (R-N)");
  const std::string path = "/api/v1/releases/" + net::url_encode(id);
  auto resp = call(r, "POST", path + "/" + cmd, decision_body(comment, {}));
  if (resp.ok && (resp.status == 403 || resp.status == 409 || resp.status == 404)) {
    err << "gantry " << cmd << ": " << error_message(resp.body) << "\n";
    return 1;
  }
  if (!resp.ok || resp.status != 200) return report(resp, cmd + " " + id, err);
  const std::string name = release_field(resp.body, "id");
  if (cmd == "promote") {
    out << "promoted " << name << ": " << release_field(resp.body, "progress") << "\n";
    return 0;
  }
  out << "aborting " << name << ": rolling back\n";
  if (!wait) return 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto now = call(r, "GET", path);
    if (!now.ok || now.status != 200) return report(now, "release " + id, err);
    std::string status = release_field(now.body, "status");
    const std::optional<ReleaseStatus> parsed = parse_release_status(status);
    if (parsed == ReleaseStatus::InProgress) continue;
    out << name << " " << status << ": " << release_field(now.body, "reason") << "\n";
    return parsed == ReleaseStatus::RolledBack ? 0 : 1;
  }
}

}  // namespace

int approvals_command(const Remote& remote, const std::string& cmd,
                      const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (cmd == "approvals") return inbox(remote, args, out, err);
  if (cmd == "releases") return releases(remote, args, out, err);
  if (cmd == "rollback") return rollback(remote, args, out, err);
  if (cmd == "promote" || cmd == "abort") return steer(remote, cmd, args, out, err);
  return decide(remote, cmd, args, out, err);
}

}  // namespace gantry::cli
