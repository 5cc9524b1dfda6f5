// gantry trigger | runs | show | logs | wait | cancel | retry | agents | repos
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <vector>

#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"
#include "remote.hpp"

namespace gantry::cli {

net::ClientResponse call(const Remote& r, const std::string& method, const std::string& path,
                         const std::string& body) {
  net::ClientRequest req;
  req.method = method;
  req.url = r.server + path;
  req.bearer_token = r.token;
  req.tls = r.tls;
  req.body = body;
  return net::http_request(req);
}

int report(const net::ClientResponse& resp, const std::string& what, std::ostream& err) {
  if (!resp.ok) {
    err << "gantry: " << what << ": " << resp.error << "\n";
  } else {
    err << "gantry: " << what << ": " << error_message(resp.body) << " (HTTP " << resp.status
        << ")\n";
  }
  return 2;
}

namespace {

bool parse_run_id(const std::string& s, int64_t& id) {
  std::string t = s[0] == '#' ? s.substr(1) : s;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), id);
  return ec == std::errc() && p == t.data() + t.size() && id > 0;
}

std::string fmt_duration(int64_t from, int64_t to) {
  if (!from || !to) return "";
  int64_t ms = to - from;
  char buf[32];
  if (ms < 60000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60000),
                  static_cast<long long>(ms / 1000 % 60));
  }
  return buf;
}

int show(const Remote& r, int64_t id, bool json, std::ostream& out, std::ostream& err) {
  auto resp = call(r, "GET", "/api/v1/runs/" + std::to_string(id));
  if (!resp.ok || resp.status != 200) return report(resp, "show " + std::to_string(id), err);
  if (json) {
    out << resp.body << "\n";
    return 0;
  }
  RunView v;
  parse_run(resp.body, v);
  out << "run " << v.id << "  " << v.job << " #" << v.number << "  " << v.status;
  if (!v.reason.empty()) out << "  (" << v.reason << ")";
  out << "\n";
  if (!v.repo.empty())
    out << "  repo " << v.repo << "  ref " << v.ref << "  commit " << v.commit.substr(0, 12)
        << "\n";
  out << "  trigger " << v.trigger;
  if (!v.author.empty()) out << "  author " << v.author;
  if (v.tests_total) out << "  tests " << v.tests_total << " (" << v.tests_failed << " failed)";
  out << "\n";
  for (const auto& s : v.stages) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-40s %-10s %-16s %s%s\n", s.id.c_str(), s.status.c_str(),
                  s.agent.c_str(), fmt_duration(s.started_at, s.finished_at).c_str(),
                  s.attempts > 1 ? (" attempts " + std::to_string(s.attempts)).c_str() : "");
    out << line;
    if (!s.reason.empty() && !status_is(s.status, RunStatus::Succeeded))
      out << "      " << s.reason << "\n";
  }
  return 0;
}

// Every attempt of the stage, in order (a retry, each phase of a canary),
// or only `attempt`.
int logs(const Remote& r, int64_t id, const std::string& stage, int attempt, bool follow,
         std::ostream& out, std::ostream& err) {
  if (follow) return follow_run(r, id, true, out, err) == 2 ? 2 : 0;
  auto resp = call(r, "GET", "/api/v1/runs/" + std::to_string(id));
  if (!resp.ok || resp.status != 200) return report(resp, "logs " + std::to_string(id), err);
  RunView v;
  parse_run(resp.body, v);
  bool found = false;
  for (const auto& s : v.stages) {
    if (!stage.empty() && s.id != stage && s.name != stage) continue;
    found = true;
    if (s.attempts == 0 || status_is(s.status, RunStatus::Skipped)) continue;
    for (int a = attempt > 0 ? attempt : 1; a <= (attempt > 0 ? attempt : s.attempts); ++a) {
      // A log may be up to 1 GiB: it goes through a temporary file, never
      // whole in memory.
      char tmpl[] = "/tmp/gantry-log-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) return (err << "gantry: cannot create a temporary file\n", 2);
      ::close(fd);
      net::ClientRequest req;
      req.url = r.server + "/api/v1/runs/" + std::to_string(id) +
                "/log?stage=" + net::url_encode(s.id) + "&attempt=" + std::to_string(a);
      req.bearer_token = r.token;
      req.tls = r.tls;
      req.output_file = tmpl;
      req.timeout = std::chrono::minutes(10);
      auto log = net::http_request(req);
      if (!log.ok || log.status != 200) {
        ::unlink(tmpl);
        return report(log, "log of " + s.id, err);
      }
      std::ifstream in(tmpl, std::ios::binary);
      std::vector<char> buf(1 << 20);
      bool header = false;
      char last = '\n';
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
        if (!header && (stage.empty() || (s.attempts > 1 && attempt == 0)))
          out << "==> " << s.id
              << (s.attempts > 1 ? " (attempt " + std::to_string(a) + ")" : std::string())
              << " <==\n";
        header = true;
        out.write(buf.data(), in.gcount());
        last = buf[static_cast<size_t>(in.gcount() - 1)];
      }
      if (last != '\n') out << "\n";
      ::unlink(tmpl);
    }
  }
  if (!found && !stage.empty()) {
    err << "gantry: run " << id << " has no stage '" << stage << "'\n";
    return 2;
  }
  return 0;
}

}  // namespace

int remote_command(const Remote& r, const std::string& cmd, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
  bool json = false;
  std::vector<std::string> pos;
  std::map<std::string, std::string> params;
  std::string repo, ref, file, status;
  bool follow = false;
  int attempt = 0;  // logs: 0 = every attempt
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    if (a == "--json") {
      json = true;
    } else if (a == "-f" || a == "--follow") {
      follow = true;
    } else if (a == "--repo") {
      if (!value(repo)) return (err << "gantry: --repo needs a value\n", 2);
    } else if (a == "--ref") {
      if (!value(ref)) return (err << "gantry: --ref needs a value\n", 2);
    } else if (a == "--file") {
      if (!value(file)) return (err << "gantry: --file needs a value\n", 2);
    } else if (a == "--status") {
      if (!value(status)) return (err << "gantry: --status needs a value\n", 2);
    } else if (a == "--attempt") {
      std::string n;
      if (!value(n) || n.empty() || n.find_first_not_of("0123456789") != std::string::npos ||
          n.size() > 6 || std::stoi(n) < 1)
        return (err << "gantry: --attempt wants a number from 1\n", 2);
      attempt = std::stoi(n);
    } else if (a == "-p" || a == "--param") {
      std::string kv;
      if (!value(kv) || kv.find('=') == std::string::npos)
        return (err << "gantry: -p wants KEY=VALUE\n", 2);
      params[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else if (a.size() > 1 && a[0] == '-') {
      err << "gantry " << cmd << ": unknown option '" << a << "'\n";
      return 2;
    } else {
      pos.push_back(a);
    }
  }
  int64_t id = 0;
  bool needs_run = cmd == "show" || cmd == "logs" || cmd == "wait" || cmd == "cancel" ||
                   cmd == "retry" || cmd == "watch";
  if (needs_run && (pos.empty() || !parse_run_id(pos[0], id))) {
    err << "gantry " << cmd << ": give a run id (as printed by `gantry trigger`)\n";
    return 2;
  }
  if (cmd == "trigger") {
    if (repo.empty() && !pos.empty()) repo = pos[0];
    if (repo.empty()) {
      err << "usage: gantry trigger --repo NAME_OR_URL [--ref REF] [--file F] [-p K=V]...\n";
      return 2;
    }
    // A local path means the path on this machine: send it absolute.
    if (repo.find("://") == std::string::npos && std::filesystem::exists(repo))
      repo = std::filesystem::absolute(repo).lexically_normal().string();
    auto resp = call(r, "POST", "/api/v1/runs", create_run_body(repo, ref, file, params, "", ""));
    if (!resp.ok || resp.status != 201) return report(resp, "trigger", err);
    RunView v;
    parse_run(resp.body, v);
    if (json) {
      out << resp.body << "\n";
    } else {
      out << v.id << "\n";
    }
    return 0;
  }
  if (cmd == "runs") {
    std::string q = "/api/v1/runs?limit=50";
    if (!status.empty()) q += "&status=" + net::url_encode(status);
    auto resp = call(r, "GET", q);
    if (!resp.ok || resp.status != 200) return report(resp, "runs", err);
    if (json) {
      out << resp.body << "\n";
      return 0;
    }
    std::vector<RunView> runs;
    parse_runs(resp.body, runs);
    out << "ID     JOB                  #     STATUS      TRIGGER\n";
    for (const auto& v : runs) {
      char line[512];
      std::snprintf(line, sizeof line, "%-6lld %-20s %-5lld %-11s %s\n",
                    static_cast<long long>(v.id), v.job.c_str(), static_cast<long long>(v.number),
                    v.status.c_str(), v.trigger.c_str());
      out << line;
    }
    return 0;
  }
  if (cmd == "show") return show(r, id, json, out, err);
  if (cmd == "logs") return logs(r, id, pos.size() > 1 ? pos[1] : "", attempt, follow, out, err);
  if (cmd == "watch") return watch_run(r, id, out, err);
  if (cmd == "wait") return follow_run(r, id, false, out, err);
  if (cmd == "cancel" || cmd == "retry") {
    auto resp = call(r, "POST", "/api/v1/runs/" + std::to_string(id) + "/" + cmd);
    if (!resp.ok || resp.status >= 300) return report(resp, cmd + " " + std::to_string(id), err);
    RunView v;
    parse_run(resp.body, v);
    if (json) {
      out << resp.body << "\n";
    } else if (cmd == "retry") {
      out << v.id << "\n";
    } else {
      out << "cancelling run " << id << "\n";
    }
    return 0;
  }
  if (cmd == "agents") {
    auto resp = call(r, "GET", "/api/v1/agents");
    if (!resp.ok || resp.status != 200) return report(resp, "agents", err);
    out << (json ? resp.body + "\n" : agents_table(resp.body));
    return 0;
  }
  if (cmd == "repos") {
    auto resp = call(r, "GET", "/api/v1/repos");
    if (!resp.ok || resp.status != 200) return report(resp, "repos", err);
    out << (json ? resp.body + "\n" : repos_table(resp.body, now_ms()));
    return 0;
  }
  err << "gantry: '" << cmd << "' is not available yet\n";
  return 2;
}

}  // namespace gantry::cli
