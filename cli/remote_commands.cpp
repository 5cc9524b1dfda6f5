// gantry trigger | runs | show | logs | wait | cancel | retry | agents | repos
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>
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
  req.max_redirects = 2;  // a follower sends us to the leader
  req.body = body;
  return net::http_request(req);
}

int report(const net::ClientResponse& resp, const std::string& what, std::ostream& err) {
  if (!resp.ok) {
    err << "gantry: " << what << ": " << resp.error << "\n";
    // Nobody there: most often no server was named.
    if (resp.error.find("refused") != std::string::npos ||
        resp.error.find("resolve") != std::string::npos ||
        resp.error.find("timed out") != std::string::npos)
      err << "(is a controller running there? --server URL or GANTRY_SERVER names it)\n";
  } else if (resp.status == 401) {
    err << "gantry: " << what << ": " << error_message(resp.body)
        << "\n(--token T or GANTRY_TOKEN gives the token)\n";
  } else {
    err << "gantry: " << what << ": " << error_message(resp.body) << " (HTTP " << resp.status
        << ")\n";
  }
  return 2;
}

namespace {

bool parse_run_id(const std::string& s, int64_t& id) {
  std::string t = !s.empty() && s[0] == '#' ? s.substr(1) : s;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), id);
  return ec == std::errc() && p == t.data() + t.size() && id > 0;
}

// RUN as users see it: the run id (20, #20) or JOB#N (shop/main#19), the number in its job as
// the lists, the page and BUILD_NUMBER show it. 0 with a message when there is none.
int64_t resolve_run(const Remote& r, const std::string& cmd, const std::string& text,
                    std::ostream& err) {
  int64_t id = 0;
  if (parse_run_id(text, id)) return id;
  const size_t hash = text.rfind('#');
  int64_t number = 0;
  if (hash == std::string::npos || hash == 0 || !parse_run_id(text.substr(hash + 1), number)) {
    usage_error(err, cmd, "'" + text + "' is not a run: give its id (20) or JOB#N (shop/main#19)");
    return 0;
  }
  auto resp = call(r, "GET",
                   "/api/v1/runs?limit=1&job=" + net::url_encode(text.substr(0, hash)) +
                       "&number=" + std::to_string(number));
  if (!resp.ok || resp.status != 200) {
    report(resp, cmd, err);
    return 0;
  }
  std::vector<RunView> runs;
  parse_runs(resp.body, runs);
  if (runs.empty()) {
    err << "gantry: " << cmd << ": no run " << text << "\n";
    return 0;
  }
  return runs[0].id;
}

// Until the repository's next fetch ends (its last_success_at or last_fetch_at moves), at most
// 15 s; a fetch that ended before the first look is covered by a short grace.
void wait_for_fetch(const Remote& r, const std::string& repo) {
  auto stamp = [&]() -> std::string {
    auto resp = call(r, "GET", "/api/v1/repos");
    if (!resp.ok || resp.status != 200) return "?";
    nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
    if (!j.is_object() || !j["repos"].is_array()) return "?";
    for (const auto& x : j["repos"]) {
      if (x.value("name", "") == repo)
        return x["last_success_at"].dump() + "/" + x["last_fetch_at"].dump() + "/" +
               x["next_fetch_at"].dump();
    }
    return "?";
  };
  const std::string first = stamp();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 150; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string now = stamp();
    if (now != first) return;
    // The fetch may have ended before the first look: after 2 s, try anyway.
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(2) && now == first) return;
  }
}

// GET `path` into a new temporary file (a log or an artifact may be a GiB: never whole in
// memory). 0 with `tmp` set (the caller unlinks it), or the exit code, said on `err`.
int download(const Remote& r, const std::string& path, const std::string& what, std::string& tmp,
             std::ostream& err) {
  char tmpl[] = "/tmp/gantry-download-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) return (err << "gantry: cannot create a temporary file\n", 2);
  ::close(fd);
  net::ClientRequest req;
  req.url = r.server + path;
  req.bearer_token = r.token;
  req.tls = r.tls;
  req.max_redirects = 2;  // a follower sends us to the leader
  req.output_file = tmpl;
  req.timeout = std::chrono::minutes(10);
  auto resp = net::http_request(req);
  if (!resp.ok || resp.status != 200) {
    ::unlink(tmpl);
    return report(resp, what, err);
  }
  tmp = tmpl;
  return 0;
}

std::string age(int64_t at_ms, int64_t now) {
  if (!at_ms) return "";
  const int64_t s = std::max<int64_t>(0, (now - at_ms) / 1000);
  if (s < 60) return std::to_string(s) + "s ago";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

std::string short_ref(const std::string& ref) {
  for (const char* p : {"refs/heads/", "refs/tags/"}) {
    if (ref.rfind(p, 0) == 0) return ref.substr(std::char_traits<char>::length(p));
  }
  return ref;
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

// One test case as `gantry tests` and `gantry show` print it: "FAILED  Stage  Class.name  1.2s",
// then, for a failed or skipped one when `text_lines` > 0, its message and the first lines of
// its text, indented.
void print_case(const nlohmann::json& c, size_t text_lines, std::ostream& out) {
  std::string status = c.value("status", "");
  std::string name = c.value("class", "");
  if (!name.empty()) name += ".";
  name += c.value("name", "");
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2fs", c.value("seconds", 0.0));
  std::string upper = status;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  out << "  " << upper << std::string(upper.size() < 8 ? 8 - upper.size() : 1, ' ')
      << c.value("stage", "") << "  " << name << "  " << secs << "\n";
  if (status == "passed" || text_lines == 0) return;
  std::string message = c.value("message", "");
  if (!message.empty()) out << "      " << message.substr(0, message.find('\n')) << "\n";
  std::istringstream details(c.value("details", ""));
  std::string line;
  for (size_t n = 0; n < text_lines && std::getline(details, line); ++n) {
    if (n == 0 && !message.empty() &&
        line.find(message.substr(0, message.find('\n'))) != std::string::npos)
      continue;  // the text often repeats the message
    out << "      " << line << "\n";
  }
}

// `gantry tests RUN [--status S] [--json]`: the run's test cases from its JUnit reports.
int tests(const Remote& r, int64_t id, const std::string& status, bool json, std::ostream& out,
          std::ostream& err) {
  std::string q = "/api/v1/runs/" + std::to_string(id) + "/tests?limit=5000";
  if (!status.empty()) q += "&status=" + net::url_encode(status);
  auto resp = call(r, "GET", q);
  if (!resp.ok || resp.status != 200) return report(resp, "tests", err);
  if (json) {
    out << resp.body << "\n";
    return 0;
  }
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_object()) return (err << "gantry: tests: the controller's answer is not JSON\n", 1);
  const nlohmann::json counts = j.value("counts", nlohmann::json::object());
  const nlohmann::json cases = j.value("cases", nlohmann::json::array());
  out << counts.value("total", 0) << " tests, " << counts.value("failed", 0) << " failed, "
      << counts.value("skipped", 0) << " skipped\n";
  for (const auto& c : cases) print_case(c, 20, out);
  if (j.value("omitted", 0) > 0) out << "  (" << j.value("omitted", 0) << " more not listed)\n";
  if (cases.empty() && counts.value("total", 0) == 0)
    out << "(run " << id << " recorded no tests)\n";
  return 0;
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
  out << v.job << "#" << v.number << "  (run " << v.id << ")  " << v.status;
  if (!v.reason.empty()) out << "  (" << v.reason << ")";
  out << "\n";
  if (!v.repo.empty())
    out << "  repo " << v.repo << "  ref " << v.ref << "  commit " << v.commit.substr(0, 12)
        << "\n";
  out << "  trigger " << v.trigger;
  if (!v.author.empty()) out << "  author " << v.author;
  if (!v.title.empty()) out << "  \"" << v.title << "\"";
  if (v.tests_total) out << "  tests " << v.tests_total << " (" << v.tests_failed << " failed)";
  out << "\n";
  // Build-step links: the run that started this one, and the runs this one started.
  nlohmann::json links = nlohmann::json::parse(resp.body, nullptr, false);
  auto text = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
  };
  auto number = [](const nlohmann::json& o, const char* key) {
    return o.contains(key) && o[key].is_number_integer() ? o[key].get<int64_t>() : int64_t{0};
  };
  if (links.is_object() && links.contains("upstream") && links["upstream"].is_object() &&
      links["upstream"].contains("job"))
    out << "  started by " << text(links["upstream"], "job") << "#"
        << number(links["upstream"], "number") << " (run " << number(links["upstream"], "run")
        << ", stage " << text(links["upstream"], "stage") << ")\n";
  if (links.is_object() && links.contains("downstream") && links["downstream"].is_array()) {
    for (const auto& d : links["downstream"]) {
      if (!d.is_object()) continue;
      out << "  started " << text(d, "job") << "#" << number(d, "number") << " (run "
          << number(d, "run") << ") " << text(d, "status") << "\n";
    }
  }
  for (const auto& s : v.stages) {
    char line[512];
    std::snprintf(line, sizeof line, "  %-40s %-10s %-16s %s%s\n", s.id.c_str(), s.status.c_str(),
                  s.agent.c_str(), fmt_duration(s.started_at, s.finished_at).c_str(),
                  s.attempts > 1 ? (" attempts " + std::to_string(s.attempts)).c_str() : "");
    out << line;
    if (!s.reason.empty() && !status_is(s.status, RunStatus::Succeeded))
      out << "      " << s.reason << "\n";
    // A deploy's phases, each an attempt with its own log (gantry logs RUN STAGE --attempt N).
    if (!s.attempt_names.empty()) {
      out << "      phases:";
      for (size_t i = 0; i < s.attempt_names.size(); ++i)
        out << (i ? ", " : " ") << i + 1 << " " << s.attempt_names[i];
      out << "\n";
    }
  }
  // The failed tests, with the first lines of what they said: what a developer looks for first.
  if (v.tests_failed > 0) {
    auto t = call(r, "GET", "/api/v1/runs/" + std::to_string(id) + "/tests?status=failed&limit=10");
    nlohmann::json j =
        t.ok && t.status == 200 ? nlohmann::json::parse(t.body, nullptr, false) : nlohmann::json();
    if (j.is_object() && j.contains("cases") && j["cases"].is_array() && !j["cases"].empty()) {
      out << "Failed tests:\n";
      for (const auto& c : j["cases"]) print_case(c, 3, out);
      if (v.tests_failed > static_cast<int64_t>(j["cases"].size()))
        out << "  (gantry tests " << id << " --status failed lists all " << v.tests_failed << ")\n";
    }
  }
  return 0;
}

// Every attempt of the stage, in order (a retry, each phase of a canary),
// or only `attempt`.
int logs(const Remote& r, int64_t id, const std::string& stage, int attempt, bool follow,
         std::ostream& out, std::ostream& err) {
  // Like wait: the run's result is the exit status.
  if (follow) return follow_run(r, id, true, out, err);
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
      std::string tmpl;
      if (int code = download(r,
                              "/api/v1/runs/" + std::to_string(id) + "/log?stage=" +
                                  net::url_encode(s.id) + "&attempt=" + std::to_string(a),
                              "log of " + s.id, tmpl, err))
        return code;
      std::ifstream in(tmpl, std::ios::binary);
      std::vector<char> buf(1 << 20);
      bool header = false;
      char last = '\n';
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
        if (!header && (stage.empty() || (s.attempts > 1 && attempt == 0)))
          out << "==> " << s.id
              << (static_cast<size_t>(a) <= s.attempt_names.size() &&
                          !s.attempt_names[static_cast<size_t>(a) - 1].empty()
                      ? " (" + s.attempt_names[static_cast<size_t>(a) - 1] + ")"
                  : s.attempts > 1 ? " (attempt " + std::to_string(a) + ")"
                                   : std::string())
              << " <==\n";
        header = true;
        out.write(buf.data(), in.gcount());
        last = buf[static_cast<size_t>(in.gcount() - 1)];
      }
      if (last != '\n') out << "\n";
      ::unlink(tmpl.c_str());
    }
  }
  if (!found && !stage.empty()) {
    std::string names;
    for (const auto& s : v.stages) names += (names.empty() ? "" : ", ") + s.id;
    err << "gantry: logs: run " << id << " has no stage '" << stage << "'"
        << (names.empty() ? std::string(" (it has no stages yet)") : " (its stages: " + names + ")")
        << "\n";
    return 2;
  }
  return 0;
}

// `gantry artifacts RUN`: the list; `gantry artifacts RUN PATH [-o FILE]`: one, written to FILE
// (default: its name in the current directory; `-` for stdout), through a temporary file.
int artifacts(const Remote& r, int64_t id, const std::string& path, const std::string& output,
              bool json, std::ostream& out, std::ostream& err) {
  const std::string base = "/api/v1/runs/" + std::to_string(id) + "/artifacts";
  if (path.empty()) {
    auto resp = call(r, "GET", base);
    if (!resp.ok || resp.status != 200) return report(resp, "artifacts", err);
    if (json) {
      out << resp.body << "\n";
      return 0;
    }
    nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
    const nlohmann::json list =
        j.is_object() ? j.value("artifacts", nlohmann::json::array()) : nlohmann::json::array();
    if (list.empty()) out << "(run " << id << " kept no artifacts)\n";
    for (const auto& a : list) {
      char line[1024];
      std::snprintf(line, sizeof line, "%-48s %12lld  %s\n", a.value("path", "").c_str(),
                    static_cast<long long>(a.value("size", int64_t{0})),
                    a.value("stage", "").c_str());
      out << line;
    }
    return 0;
  }
  const std::string dest =
      output.empty() ? std::filesystem::path(path).filename().string() : output;
  std::string tmpl;
  if (int code =
          download(r, base + "/file?path=" + net::url_encode(path), "artifacts " + path, tmpl, err))
    return code;
  std::error_code ec;
  if (dest == "-") {
    std::ifstream in(tmpl, std::ios::binary);
    out << in.rdbuf();
  } else {
    std::filesystem::copy_file(tmpl, dest, std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) err << "gantry: wrote " << dest << "\n";
  }
  ::unlink(tmpl.c_str());
  if (ec)
    return (err << "gantry: artifacts: cannot write " << dest << ": " << ec.message() << "\n", 2);
  return 0;
}

}  // namespace

int remote_command(const Remote& r, const std::string& cmd, const std::vector<std::string>& args,
                   std::ostream& out, std::ostream& err) {
  bool json = false;
  std::vector<std::string> pos;
  std::map<std::string, std::string> params;
  std::string repo, ref, file, status, branch, user, limit = "50", from_stage, output;
  bool follow = false, failed_only = false;
  int attempt = 0;  // logs: 0 = every attempt
  // Which options each command takes: anything else is a usage error, not ignored.
  const bool lists = cmd == "runs";
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    auto needs = [&](const std::string& what) {
      return usage_error(err, cmd, a + " needs " + what);
    };
    if (a == "--json") {
      json = true;
    } else if ((a == "-f" || a == "--follow") && cmd == "logs") {
      follow = true;
    } else if (a == "--from" && cmd == "retry") {
      if (!value(from_stage)) return needs("a top-level stage name");
    } else if (a == "--failed" && cmd == "retry") {
      failed_only = true;
    } else if ((a == "-o" || a == "--output") && cmd == "artifacts") {
      if (!value(output)) return needs("a file to write");
    } else if (a == "--repo" && (cmd == "trigger" || lists)) {
      if (!value(repo)) return needs("a repository name or URL");
    } else if (a == "--ref" && cmd == "trigger") {
      if (!value(ref)) return needs("a branch, tag or commit");
    } else if (a == "--file" && cmd == "trigger") {
      if (!value(file)) return needs("a pipeline file path");
    } else if (a == "--status" && (lists || cmd == "tests")) {
      if (!value(status)) return needs("a status");
    } else if (a == "--branch" && lists) {
      if (!value(branch)) return needs("a branch");
    } else if (a == "--user" && lists) {
      if (!value(user)) return needs("a user name");
    } else if (a == "--limit" && lists) {
      if (!value(limit) || limit.empty() || limit.size() > 3 ||
          limit.find_first_not_of("0123456789") != std::string::npos || std::stoi(limit) < 1)
        return needs("a number from 1 to 500");
    } else if (a == "--attempt" && cmd == "logs") {
      std::string n;
      if (!value(n) || n.empty() || n.find_first_not_of("0123456789") != std::string::npos ||
          n.size() > 6 || std::stoi(n) < 1)
        return needs("a number from 1");
      attempt = std::stoi(n);
    } else if ((a == "-p" || a == "--param") && cmd == "trigger") {
      std::string kv;
      if (!value(kv) || kv.find('=') == std::string::npos || kv.front() == '=')
        return needs("NAME=VALUE");
      params[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error(err, cmd, "unknown option '" + a + "'");
    } else {
      pos.push_back(a);
    }
  }
  int64_t id = 0;
  bool needs_run = cmd == "show" || cmd == "logs" || cmd == "wait" || cmd == "cancel" ||
                   cmd == "retry" || cmd == "watch" || cmd == "artifacts" || cmd == "tests";
  const size_t max_pos = cmd == "logs" || cmd == "artifacts" ? 2
                         : needs_run || cmd == "trigger"     ? 1
                                                             : 0;
  if (pos.size() > max_pos)
    return usage_error(err, cmd, "unexpected argument '" + pos[max_pos] + "'");
  if (needs_run) {
    if (pos.empty())
      return usage_error(err, cmd, "give a run: its id (20) or JOB#N (shop/main#19)");
    id = resolve_run(r, cmd, pos[0], err);
    if (id == 0) return 2;
  }
  if (cmd == "trigger") {
    if (repo.empty() && !pos.empty()) repo = pos[0];
    if (repo.empty()) return usage_error(err, "trigger", "give the repository: --repo NAME_OR_URL");
    // A local path means the path on this machine: send it absolute.
    if (repo.find("://") == std::string::npos && std::filesystem::exists(repo))
      repo = std::filesystem::absolute(repo).lexically_normal().string();
    const std::string body = create_run_body(repo, ref, file, params, "", "");
    auto resp = call(r, "POST", "/api/v1/runs", body);
    // A ref the controller's last fetch did not list: it fetches again at once, so a branch
    // pushed a moment ago is found after that fetch; a typo is still refused, and no run exists.
    if (resp.ok && resp.status == 404 && resp.body.find("\"unknown_ref\"") != std::string::npos) {
      wait_for_fetch(r, repo);
      resp = call(r, "POST", "/api/v1/runs", body);
    }
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
    std::string q = "/api/v1/runs?limit=" + limit;
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"status", &status},
                                     {"repo", &repo},
                                     {"branch", &branch},
                                     {"user", &user}}) {
      if (!value->empty()) q += std::string("&") + key + "=" + net::url_encode(*value);
    }
    auto resp = call(r, "GET", q);
    if (!resp.ok || resp.status != 200) return report(resp, "runs", err);
    if (json) {
      out << resp.body << "\n";
      return 0;
    }
    std::vector<RunView> runs;
    parse_runs(resp.body, runs);
    const int64_t now = now_ms();
    out << "RUN    JOB#N                    BRANCH           STATUS     AGE       DURATION  "
           "TRIGGER     TITLE\n";
    for (const auto& v : runs) {
      char line[768];
      const std::string job = v.job + "#" + std::to_string(v.number);
      const std::string took =
          fmt_duration(v.started_at ? v.started_at : v.created_at,
                       v.finished_at ? v.finished_at : (run_finished(v.status) ? 0 : now));
      std::string title = v.title.size() > 50 ? v.title.substr(0, 49) + "~" : v.title;
      std::snprintf(line, sizeof line, "%-6lld %-24s %-16s %-10s %-9s %-9s %-11s %s\n",
                    static_cast<long long>(v.id), job.c_str(), short_ref(v.ref).c_str(),
                    v.status.c_str(), age(v.created_at, now).c_str(), took.c_str(),
                    v.trigger.c_str(), title.c_str());
      out << line;
    }
    if (runs.empty())
      out << "(no runs" << (q.find('&') != std::string::npos ? " match" : "") << ")\n";
    return 0;
  }
  if (cmd == "show") return show(r, id, json, out, err);
  if (cmd == "logs") return logs(r, id, pos.size() > 1 ? pos[1] : "", attempt, follow, out, err);
  if (cmd == "watch") return watch_run(r, id, out, err);
  if (cmd == "wait") return follow_run(r, id, false, out, err);
  if (cmd == "cancel" || cmd == "retry") {
    if (!from_stage.empty() && failed_only)
      return usage_error(err, cmd, "--from and --failed are two ways to say where to restart");
    nlohmann::json body = nlohmann::json::object();
    if (!from_stage.empty()) body["from_stage"] = from_stage;
    if (failed_only) body["failed"] = true;
    auto resp = call(r, "POST", "/api/v1/runs/" + std::to_string(id) + "/" + cmd,
                     body.empty() ? std::string() : body.dump());
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
  if (cmd == "tests") return tests(r, id, status, json, out, err);
  if (cmd == "artifacts")
    return artifacts(r, id, pos.size() > 1 ? pos[1] : "", output, json, out, err);
  if (cmd == "agents") {
    auto resp = call(r, "GET", "/api/v1/agents");
    if (!resp.ok || resp.status != 200) return report(resp, "agents", err);
    out << (json ? resp.body + "\n" : agents_table(resp.body));
    return 0;
  }
  if (cmd == "locks") {
    auto resp = call(r, "GET", "/api/v1/locks");
    if (!resp.ok || resp.status != 200) return report(resp, "locks", err);
    out << (json ? resp.body + "\n" : locks_table(resp.body));
    return 0;
  }
  if (cmd == "repos") {
    auto resp = call(r, "GET", "/api/v1/repos");
    if (!resp.ok || resp.status != 200) return report(resp, "repos", err);
    out << (json ? resp.body + "\n" : repos_table(resp.body, now_ms()));
    return 0;
  }
  return usage_error(err, cmd, "not a command of this gantry");
}

}  // namespace gantry::cli
