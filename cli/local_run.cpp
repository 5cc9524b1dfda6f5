// `gantry run [FILE]`: the local runner (docs/cli.md). An embedded controller and agent in this
// process (a temporary data dir, a free port on 127.0.0.1) run the pipeline the way a controller
// would, with four differences a laptop needs:
//   - the workspace is a copy of the working tree's files (git's tracked and untracked, not
//     ignored), so builds neither litter nor delete the user's files; `--workspace here` runs in
//     the current directory;
//   - every stage runs here whatever agent it asks for (said once per stage), never waiting;
//   - deploy stages are skipped unless --with-deploys (then ungated), and --stage/--until leave
//     stages out;
//   - inputs are answered at the terminal (or by --input / -i).
// Step output is printed live, each line prefixed by its stage; the logs, artifacts and the run's
// JSON are kept in .gantry/runs/N/ (or --out DIR). The exit status is the run's result.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "agent.hpp"
#include "approvals.hpp"
#include "auth.hpp"
#include "gantry/common/log.hpp"
#include "gantry/git/git_cache.hpp"
#include "gantry/net/url.hpp"
#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/yaml_frontend.hpp"
#include "json_get.hpp"
#include "remote.hpp"
#include "service/controller.hpp"
#include "service/git_workers.hpp"
#include "source_file.hpp"

namespace gantry::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kRunUsage =
    "usage: gantry run [FILE] [options]\n"
    "\n"
    "Runs a pipeline (FILE, default ./Jenkinsfile or ./.gantry.yml) on this machine: an\n"
    "embedded controller and agent, no server needed. Step output is printed live, prefixed\n"
    "by its stage; logs and artifacts are kept in .gantry/runs/N/.\n"
    "\n"
    "options:\n"
    "  -p, --param NAME=VALUE    a pipeline parameter (repeatable)\n"
    "  --workspace copy|here     copy (default): the working tree's files (git's tracked and\n"
    "                            untracked, not ignored) in a fresh temporary workspace;\n"
    "                            here: the current directory itself (steps may change or\n"
    "                            delete its files)\n"
    "  --stage NAME              run only this stage (repeatable); the others are skipped\n"
    "  --until NAME              run the stages up to and including NAME\n"
    "  --with-deploys            run deploy stages too, here and ungated (no GMUD)\n"
    "  --input proceed|abort     answer every input without asking\n"
    "  -i, --input-value NAME=VALUE  an input parameter's answer (repeatable)\n"
    "  --library NAME=URL[@VERSION]  a shared library (a git URL or path) that @Library('NAME')\n"
    "                            loads, as a controller's `libraries:` does (repeatable)\n"
    "  --out DIR                 keep logs and artifacts in DIR (default .gantry/runs/N)\n"
    "  -q, --quiet               stage status lines only, no step output\n"
    "  -h, --help                this text\n"
    "\n"
    "Stages run here whatever label they ask for; each such stage is named once. docker,\n"
    "dockerfile and kubernetes agents run in containers when this machine has podman or\n"
    "docker (else here, said once per stage). Inputs are asked at the terminal; without one,\n"
    "--input decides.\n"
    "\n"
    "examples:\n"
    "  gantry run                          # ./Jenkinsfile\n"
    "  gantry run --until Test -p ENV=dev  # build and test only\n"
    "  gantry run ci/Jenkinsfile --input proceed -i TARGET=staging\n"
    "\n"
    "exit status: 0 succeeded, 1 failed (or invalid pipeline), 2 usage error, 3 unstable,\n"
    "4 aborted\n";

struct LocalOptions {
  std::string file;
  std::map<std::string, std::string> params;
  bool here = false;  // --workspace here
  bool quiet = false;
  bool with_deploys = false;
  std::vector<std::string> only;  // --stage
  std::string until;
  std::string input;  // "", "proceed" or "abort"
  std::map<std::string, std::string> input_values;
  std::string out_dir;
  // --library NAME=URL[@VERSION]: a shared library the pipeline may load (@Library('NAME')).
  std::vector<controller::LibraryConfig> libraries;
};

bool split_kv(const std::string& kv, std::map<std::string, std::string>& out) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out[kv.substr(0, eq)] = kv.substr(eq + 1);
  return true;
}

// 0: parsed; 1: --help shown; 2: a usage error (said).
int parse_options(const std::vector<std::string>& args, LocalOptions& o, std::ostream& out,
                  std::ostream& err) {
  auto fail = [&](const std::string& why) {
    err << "gantry: run: " << why << "\n(gantry run --help shows the options)\n";
    return 2;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& v) {
      if (i + 1 >= args.size()) return false;
      v = args[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      out << kRunUsage;
      return 1;
    } else if (a == "-p" || a == "--param") {
      if (!value(v) || !split_kv(v, o.params)) return fail(a + " wants NAME=VALUE");
    } else if (a == "--library") {
      std::map<std::string, std::string> kv;
      if (!value(v) || !split_kv(v, kv)) return fail("--library wants NAME=URL[@VERSION]");
      controller::LibraryConfig lib;
      lib.name = kv.begin()->first;
      lib.url = kv.begin()->second;
      // A version after the last '@' that is not part of user@host (scp-like URLs).
      if (size_t at = lib.url.rfind('@'); at != std::string::npos &&
                                          lib.url.find(':', at) == std::string::npos &&
                                          lib.url.find('/', at) == std::string::npos) {
        lib.default_version = lib.url.substr(at + 1);
        lib.url.resize(at);
      }
      if (!lib.url.empty() && lib.url.find("://") == std::string::npos && lib.url[0] != '/' &&
          fs::exists(lib.url))
        lib.url = fs::absolute(lib.url).lexically_normal().string();
      o.libraries.push_back(std::move(lib));
    } else if (a == "-i" || a == "--input-value") {
      if (!value(v) || !split_kv(v, o.input_values)) return fail(a + " wants NAME=VALUE");
    } else if (a == "--workspace") {
      if (!value(v) || (v != "copy" && v != "here"))
        return fail("--workspace is copy (the default) or here");
      o.here = v == "here";
    } else if (a == "--stage") {
      if (!value(v)) return fail("--stage wants a stage name");
      o.only.push_back(v);
    } else if (a == "--until") {
      if (!value(o.until)) return fail("--until wants a stage name");
    } else if (a == "--input") {
      if (!value(v) || (v != "proceed" && v != "abort")) return fail("--input is proceed or abort");
      o.input = v;
    } else if (a == "--out") {
      if (!value(o.out_dir)) return fail("--out wants a directory");
    } else if (a == "--with-deploys") {
      o.with_deploys = true;
    } else if (a == "-q" || a == "--quiet") {
      o.quiet = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return fail("unknown option '" + a + "'");
    } else if (o.file.empty()) {
      o.file = a;
    } else {
      return fail("one pipeline file at a time ('" + o.file + "', then '" + a + "')");
    }
  }
  return 0;
}

// Every stage of the pipeline in document order, as the scheduler names it ("A / B" for a stage
// inside A; a matrix's cells have more parts, under their matrix stage's path).
void stage_paths(const std::vector<pipelines::Stage>& stages, const std::string& parent,
                 std::vector<std::string>& out) {
  for (const pipelines::Stage& s : stages) {
    std::string path = parent.empty() ? s.name : parent + " / " + s.name;
    out.push_back(path);
    stage_paths(s.stages, path, out);
    stage_paths(s.parallel, path, out);
    if (s.matrix) stage_paths(s.matrix->stages, path, out);
  }
}

std::vector<std::string> path_parts(const std::string& id) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = id.find(" / ", start)) != std::string::npos; start = at + 3)
    parts.push_back(id.substr(start, at - start));
  parts.push_back(id.substr(start));
  return parts;
}

bool has_part(const std::string& id, const std::string& name) {
  for (const std::string& p : path_parts(id)) {
    if (p == name) return true;
  }
  return false;
}

// Why the stage at `id` is left out by --stage/--until/deploys; "" runs it.
class StagePicker {
 public:
  StagePicker(const LocalOptions& o, const pipelines::Pipeline& p) : o_(o) {
    stage_paths(p.stages, "", paths_);
    for (size_t i = 0; i < paths_.size() && until_ < 0; ++i) {
      if (!o.until.empty() && path_parts(paths_[i]).back() == o.until) until_ = static_cast<int>(i);
    }
  }
  // A name --stage/--until gives that no stage has: the message; "" when all are known.
  std::string unknown_names() const {
    std::vector<std::string> wanted = o_.only;
    if (!o_.until.empty()) wanted.push_back(o_.until);
    for (const std::string& w : wanted) {
      bool found = false;
      for (const std::string& p : paths_) found = found || has_part(p, w);
      if (found) continue;
      std::string names;
      std::set<std::string> seen;
      for (const std::string& p : paths_) {
        const std::string last = path_parts(p).back();
        if (seen.insert(last).second) names += (names.empty() ? "" : ", ") + last;
      }
      return "no stage '" + w + "' in the pipeline (its stages: " + names + ")";
    }
    return {};
  }
  std::string skip(const pipelines::Stage& stage, const std::string& id) const {
    if (stage.deploy && !o_.with_deploys)
      return "deploy('" + stage.deploy->environment +
             "') left out by gantry run (--with-deploys runs it here)";
    if (!o_.only.empty()) {
      bool wanted = false;
      for (const std::string& name : o_.only) wanted = wanted || has_part(id, name);
      if (!wanted) return "left out by gantry run --stage";
    }
    if (until_ >= 0) {
      const std::string& mark = paths_[static_cast<size_t>(until_)];
      const bool inside = id == mark || id.rfind(mark + " / ", 0) == 0;
      if (!inside && index_of(id) > until_)
        return "left out by gantry run --until '" + o_.until + "'";
    }
    return {};
  }

 private:
  // The position of the longest known path that `id` is or starts with (matrix cells).
  int index_of(const std::string& id) const {
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < paths_.size(); ++i) {
      const std::string& p = paths_[i];
      if ((id == p || id.rfind(p + " / ", 0) == 0) && p.size() >= best_len) {
        best = static_cast<int>(i);
        best_len = p.size();
      }
    }
    return best;
  }
  const LocalOptions& o_;
  std::vector<std::string> paths_;
  int until_ = -1;
};

std::string describe_agent(const pipelines::Agent& a) {
  using K = pipelines::AgentKind;
  switch (a.kind) {
    case K::Label:
    case K::Node:
      return a.label.empty() ? "" : "agent label '" + a.label + "'";
    case K::Docker: {
      auto image = a.fields.find("image");
      return "a docker agent" + (image != a.fields.end() ? " (" + image->second + ")" : "");
    }
    case K::Dockerfile:
      return "a dockerfile agent";
    case K::Kubernetes:
      return "a kubernetes agent";
    case K::Other:
      return "a '" + a.type + "' agent";
    default:
      return "";
  }
}

// Every stage in document order, nested, parallel and matrix stages included.
template <typename Fn>
void for_each_stage(const std::vector<pipelines::Stage>& stages, const Fn& fn) {
  for (const pipelines::Stage& s : stages) {
    fn(s);
    for_each_stage(s.stages, fn);
    for_each_stage(s.parallel, fn);
    if (s.matrix) for_each_stage(s.matrix->stages, fn);
  }
}

// One line per stage (and the pipeline) whose agent is not honoured here, as act does with
// runs-on; and the deploys.
// Container agents run in containers when this machine has an engine (`engine`), else here,
// and `no_engine` says why.
void say_what_is_ignored(const pipelines::Pipeline& p, const LocalOptions& o,
                         const agent::ContainerEngine* engine, const std::string& no_engine,
                         std::ostream& err) {
  auto ignored = [&](const pipelines::Agent& a) -> std::string {
    if (pipelines::runs_in_container(a.kind) && engine) return {};
    std::string what = describe_agent(a);
    if (!what.empty() && pipelines::runs_in_container(a.kind))
      what += "; this machine has no container engine (" + no_engine + ")";
    return what;
  };
  if (std::string what = ignored(p.agent); !what.empty())
    err << "gantry run: the pipeline asks for " << what << "; it runs here\n";
  for_each_stage(p.stages, [&](const pipelines::Stage& s) {
    if (std::string what = ignored(s.agent); !what.empty())
      err << "gantry run: stage '" << s.name << "' asks for " << what << "; it runs here\n";
    if (s.deploy && o.with_deploys)
      err << "gantry run: stage '" << s.name << "' deploys to '" << s.deploy->environment
          << "' from here, without its GMUD (--with-deploys)\n";
  });
}

// Output of `cmd` (run by the shell), or nullopt when it fails.
std::optional<std::string> capture(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return std::nullopt;
  std::string out;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  return ::pclose(p) == 0 ? std::optional<std::string>(out) : std::nullopt;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void copy_entry(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (fs::is_symlink(fs::symlink_status(from, ec))) {
    fs::remove(to, ec);
    fs::copy_symlink(from, to, ec);
  } else if (fs::is_regular_file(from, ec)) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  }
}

// The working tree's files in `dest`: with git, what `git ls-files` says the tree holds
// (tracked and untracked, not ignored; a top-level checkout brings its history too, as a
// shared clone that never writes to the user's repository); without, every file but .git and
// .gantry. Returns the number of files copied, or -1 with `error` set.
int64_t copy_working_tree(const fs::path& dest, std::string& error) {
  std::error_code ec;
  fs::create_directories(dest, ec);
  const fs::path here = fs::current_path();
  int64_t copied = 0;
  std::optional<std::string> listed =
      capture("git ls-files -z --cached --others --exclude-standard 2>/dev/null");
  if (listed) {
    std::optional<std::string> top = capture("git rev-parse --show-toplevel 2>/dev/null");
    if (top && !top->empty() && top->back() == '\n') top->pop_back();
    if (top && fs::equivalent(*top, here, ec)) {
      // History for the steps that ask git (describe, log); the files come from the tree.
      fs::remove(dest, ec);
      // Without history (a failed clone) the files still come.
      (void)capture("git clone -q --shared --no-checkout " + shell_quote(here.string()) + " " +
                    shell_quote(dest.string()) + " 2>&1 && git -C " + shell_quote(dest.string()) +
                    " reset -q 2>&1");
      fs::create_directories(dest, ec);
    }
    size_t start = 0;
    while (start < listed->size()) {
      size_t end = listed->find('\0', start);
      if (end == std::string::npos) end = listed->size();
      std::string rel = listed->substr(start, end - start);
      start = end + 1;
      if (rel.empty() || !fs::exists(fs::symlink_status(here / rel, ec))) continue;  // deleted
      copy_entry(here / rel, dest / rel);
      ++copied;
    }
    return copied;
  }
  for (auto it = fs::recursive_directory_iterator(here, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), here, ec);
    const std::string first = rel.begin() != rel.end() ? rel.begin()->string() : "";
    if (first == ".git" || first == ".gantry") {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
    copy_entry(it->path(), dest / rel);
    ++copied;
  }
  if (ec) {
    error = "cannot copy the working tree: " + ec.message();
    return -1;
  }
  return copied;
}

// .gantry/runs/N for the next N, with a .gantry/.gitignore so git never adds what runs keep.
std::string next_run_dir() {
  std::error_code ec;
  fs::create_directories(".gantry/runs", ec);
  if (!fs::exists(".gantry/.gitignore", ec)) std::ofstream(".gantry/.gitignore") << "*\n";
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(".gantry/runs", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
      n = std::max<int64_t>(n, std::stoll(name.substr(0, 15)));
  }
  return ".gantry/runs/" + std::to_string(n + 1);
}

std::string file_name_of(std::string id) {
  for (char& c : id) {
    if (c == '/' || c == ' ' || c == '\\') c = '_';
  }
  return id;
}

// Follows the run: step output as it comes (by stage), stage transitions, inputs answered.
class LocalView {
 public:
  LocalView(const Remote& r, int64_t id, const LocalOptions& o, std::string keep, std::ostream& out,
            std::ostream& err)
      : r_(r), id_(id), o_(o), keep_(std::move(keep)), out_(out), err_(err) {}

  int follow() {
    int failures = 0;
    for (;;) {
      net::ClientResponse resp = call(r_, "GET", "/api/v1/runs/" + std::to_string(id_));
      if (!resp.ok || resp.status != 200) {
        if (++failures > 100) {
          err_ << "gantry: run: lost the embedded controller: "
               << (resp.ok ? error_message(resp.body) : resp.error) << "\n";
          return 2;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      failures = 0;
      RunView v;
      parse_run(resp.body, v);
      bool waiting = false;
      for (const StageView& s : v.stages) {
        pump_log(s);
        transition(s);
        waiting = waiting || status_is(s.status, RunStatus::Waiting);
      }
      if (waiting) answer_inputs();
      if (run_finished(v.status)) {
        for (const StageView& s : v.stages) pump_log(s, true);
        finish(v, resp.body);
        return exit_code_for(v.status);
      }
      out_.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  struct Log {
    uint64_t offset = 0;
    std::string partial;  // bytes after the last newline
    std::string tail;     // the last lines, for a failure summary in --quiet
  };

  std::string prefix(const std::string& stage) const {
    return r_.color ? "\033[36m[" + stage + "]\033[0m " : "[" + stage + "] ";
  }

  void emit_lines(const std::string& stage, Log& log, std::string_view bytes, bool flush) {
    log.partial.append(bytes);
    size_t start = 0;
    for (size_t nl; (nl = log.partial.find('\n', start)) != std::string::npos; start = nl + 1)
      line(stage, log, std::string_view(log.partial).substr(start, nl - start));
    log.partial.erase(0, start);
    if (flush && !log.partial.empty()) {
      line(stage, log, log.partial);
      log.partial.clear();
    }
  }

  void line(const std::string& stage, Log& log, std::string_view text) {
    if (!o_.quiet) out_ << prefix(stage) << text << "\n";
    log.tail.append(text).push_back('\n');
    // Keep about the last 20 lines.
    size_t lines = static_cast<size_t>(std::count(log.tail.begin(), log.tail.end(), '\n'));
    while (lines-- > 20) log.tail.erase(0, log.tail.find('\n') + 1);
  }

  void pump_log(const StageView& s, bool final = false) {
    if (status_is(s.status, RunStatus::Queued) || status_is(s.status, RunStatus::Skipped) ||
        s.attempts < 1)
      return;
    const std::string key = s.id + "#" + std::to_string(s.attempts);
    Log& log = logs_[key];
    for (int round = 0; round < 64; ++round) {  // at most 64 reads per poll
      net::ClientResponse l = call(
          r_, "GET",
          "/api/v1/runs/" + std::to_string(id_) + "/log?stage=" + net::url_encode(s.id) +
              "&attempt=" + std::to_string(s.attempts) + "&offset=" + std::to_string(log.offset));
      if (!l.ok || l.status != 200 || l.body.empty()) break;
      log.offset += l.body.size();
      save(s, l.body);
      emit_lines(s.id, log, l.body, false);
    }
    const bool ended = final || run_finished(s.status) || status_is(s.status, RunStatus::Skipped);
    if (ended) emit_lines(s.id, log, "", true);
  }

  void save(const StageView& s, const std::string& bytes) {
    std::error_code ec;
    fs::create_directories(fs::path(keep_) / "logs", ec);
    std::string name = file_name_of(s.id);
    if (s.attempts > 1) name += "." + std::to_string(s.attempts);
    std::ofstream(fs::path(keep_) / "logs" / (name + ".log"), std::ios::app | std::ios::binary)
        << bytes;
  }

  void transition(const StageView& s) {
    std::string& prev = seen_[s.id];
    if (prev == s.status || (prev.empty() && status_is(s.status, RunStatus::Queued))) return;
    prev = s.status;
    if (status_is(s.status, RunStatus::Queued)) return;
    out_ << (r_.color ? "\033[1m" : "") << "--- " << s.id << ": " << (r_.color ? "\033[0m" : "");
    if (r_.color) out_ << color_of(s.status, true);
    out_ << s.status;
    if (r_.color) out_ << "\033[0m";
    if (s.started_at && s.finished_at) {
      char buf[32];
      std::snprintf(buf, sizeof buf, " (%.1fs)",
                    static_cast<double>(s.finished_at - s.started_at) / 1000.0);
      out_ << buf;
    }
    if (!s.reason.empty() && !status_is(s.status, RunStatus::Succeeded) &&
        !status_is(s.status, RunStatus::Running))
      out_ << ": " << s.reason;
    out_ << "\n";
  }

  // Pending inputs of this run: asked at the terminal, or answered by --input.
  void answer_inputs() {
    net::ClientResponse resp = call(r_, "GET", "/api/v1/approvals?status=pending");
    if (!resp.ok || resp.status != 200) return;
    json list = json::parse(resp.body, nullptr, false);
    if (!list.is_object() || !list["approvals"].is_array()) return;
    for (const json& a : list["approvals"]) {
      if (json_num(a, "run") != id_ || json_str(a, "kind") != "input") continue;
      const std::string name = json_str(a, "id");
      if (!answered_.insert(name).second) continue;
      answer(a, name);
    }
  }

  void answer(const json& a, const std::string& name) {
    const std::string stage = json_str(a, "stage");
    const std::string message = json_str(a, "message");
    std::map<std::string, std::string> values;
    bool proceed = false;
    std::string comment;
    const json params =
        a.contains("parameters") && a["parameters"].is_array() ? a["parameters"] : json::array();
    for (const json& p : params) values[json_str(p, "name")] = json_str(p, "default");
    for (const auto& [k, v] : o_.input_values) values[k] = v;
    if (!o_.input.empty()) {
      proceed = o_.input == "proceed";
      comment = "--input " + o_.input;
      out_ << "--- " << stage << ": input '" << message << "': " << o_.input << " (--input)\n";
    } else if (::isatty(STDIN_FILENO) != 0) {
      out_ << "--- " << stage << ": input: " << message << "\n";
      for (const json& p : params) {
        const std::string pname = json_str(p, "name");
        if (o_.input_values.count(pname)) continue;
        out_ << "    " << pname;
        if (const std::string d = json_str(p, "description"); !d.empty()) out_ << " (" << d << ")";
        if (p.contains("choices") && p["choices"].is_array() && !p["choices"].empty()) {
          out_ << " [";
          for (size_t i = 0; i < p["choices"].size(); ++i)
            out_ << (i ? "/" : "") << p["choices"][i].get<std::string>();
          out_ << "]";
        }
        out_ << " (default '" << values[pname] << "'): " << std::flush;
        std::string answer;
        if (std::getline(std::cin, answer) && !answer.empty()) values[pname] = answer;
      }
      std::string ok = json_str(a, "ok");
      out_ << "    " << (ok.empty() ? "Proceed" : ok) << "? [Y/n] " << std::flush;
      std::string yes;
      std::getline(std::cin, yes);
      proceed = yes.empty() || yes[0] == 'y' || yes[0] == 'Y';
      comment = "answered at the terminal";
    } else {
      err_ << "gantry run: stage '" << stage << "' waits for input '" << message
           << "': not a terminal, so it is aborted; answer with --input proceed (and -i "
              "NAME=VALUE) or --input abort\n";
      comment = "no terminal to answer at (gantry run --input proceed|abort)";
    }
    const std::string path = "/api/v1/approvals/" + name + (proceed ? "/approve" : "/reject");
    net::ClientResponse r =
        call(r_, "POST", path, decision_body(comment, proceed ? values : decltype(values){}));
    if (!r.ok || r.status != 200)
      err_ << "gantry run: " << name << ": " << (r.ok ? error_message(r.body) : r.error) << "\n";
  }

  void finish(const RunView& v, const std::string& run_json) {
    std::error_code ec;
    fs::create_directories(keep_, ec);
    std::ofstream(fs::path(keep_) / "run.json") << run_json << "\n";
    int64_t artifacts = fetch_artifacts();
    for (const StageView& s : v.stages) {
      if (!status_is(s.status, RunStatus::Failed)) continue;
      auto it = logs_.find(s.id + "#" + std::to_string(s.attempts));
      if (o_.quiet && it != logs_.end() && !it->second.tail.empty()) {
        out_ << "--- " << s.id << ": the last lines of its log\n";
        std::istringstream lines(it->second.tail);
        for (std::string l; std::getline(lines, l);) out_ << prefix(s.id) << l << "\n";
      }
    }
    // The failed tests with the start of their text, and every case kept as tests.json.
    if (v.tests_total) {
      net::ClientResponse t =
          call(r_, "GET", "/api/v1/runs/" + std::to_string(id_) + "/tests?limit=5000");
      json j = t.ok && t.status == 200 ? json::parse(t.body, nullptr, false) : json();
      if (j.is_object()) {
        std::ofstream(fs::path(keep_) / "tests.json") << t.body << "\n";
        size_t shown = 0;
        for (const json& c : j.value("cases", json::array())) {
          if (json_str(c, "status") != "failed" || shown >= 10) continue;
          if (shown++ == 0) out_ << "failed tests:\n";
          const std::string cls = json_str(c, "class");
          out_ << "  " << json_str(c, "stage") << ": " << (cls.empty() ? "" : cls + ".")
               << json_str(c, "name");
          const std::string message = json_str(c, "message");
          if (!message.empty()) out_ << ": " << message.substr(0, message.find('\n'));
          out_ << "\n";
        }
      }
    }
    out_ << "run " << v.job << " #" << v.number << " ";
    if (r_.color) out_ << color_of(v.status, false);
    out_ << v.status;
    if (r_.color) out_ << "\033[0m";
    if (!v.reason.empty()) out_ << ": " << v.reason;
    if (v.tests_total) out_ << "  tests " << v.tests_total << ", " << v.tests_failed << " failed";
    out_ << "\n";
    out_ << "logs" << (artifacts ? " and " + std::to_string(artifacts) + " artifact(s)" : "")
         << ": " << keep_ << "/\n";
    out_.flush();
  }

  int64_t fetch_artifacts() {
    net::ClientResponse resp =
        call(r_, "GET", "/api/v1/runs/" + std::to_string(id_) + "/artifacts");
    if (!resp.ok || resp.status != 200) return 0;
    json j = json::parse(resp.body, nullptr, false);
    if (!j.is_object() || !j["artifacts"].is_array()) return 0;
    int64_t n = 0;
    for (const json& a : j["artifacts"]) {
      const std::string path = json_str(a, "path");
      if (path.empty() || path.find("..") != std::string::npos) continue;
      net::ClientResponse f = call(
          r_, "GET",
          "/api/v1/runs/" + std::to_string(id_) + "/artifacts/file?path=" + net::url_encode(path));
      if (!f.ok || f.status != 200) continue;
      const fs::path to = fs::path(keep_) / "artifacts" / path;
      std::error_code ec;
      fs::create_directories(to.parent_path(), ec);
      std::ofstream(to, std::ios::binary) << f.body;
      ++n;
    }
    return n;
  }

  const Remote& r_;
  int64_t id_;
  const LocalOptions& o_;
  std::string keep_;
  std::ostream& out_;
  std::ostream& err_;
  std::map<std::string, Log> logs_;
  std::map<std::string, std::string> seen_;
  std::set<std::string> answered_;
};

}  // namespace

int local_run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  LocalOptions o;
  if (int parsed = parse_options(args, o, out, err); parsed != 0) return parsed == 1 ? 0 : 2;
  if (o.file.empty()) o.file = fs::exists("Jenkinsfile") ? "Jenkinsfile" : ".gantry.yml";
  std::string read_error;
  std::istringstream no_stdin;
  auto src = read_source(o.file, no_stdin, read_error);
  if (!src) {
    err << "gantry: run: " << read_error << "\n";
    return 2;
  }
  std::string source = src->text;
  auto format = pipelines::format_for_path(o.file);
  // Shared libraries are read here too, so that a pipeline template loads.
  pipelines::LibraryBundle libs;
  {
    // A library the file names that --library does not give: said, and left out.
    if (auto asked = pipelines::find_library_requests(source, format)) {
      for (const auto& w : asked->wanted) {
        bool given = false;
        for (const auto& l : o.libraries) given = given || l.name == w.name;
        if (!given) {
          out << "gantry run: library '" << w.name << "' is not loaded (give it with --library "
              << w.name << "=URL): its steps fail when reached\n";
        }
      }
    }
  }
  if (!o.libraries.empty()) {
    char cache_tmpl[] = "/tmp/gantry-libs-XXXXXX";
    if (!::mkdtemp(cache_tmpl)) {
      err << "gantry: run: cannot create a temporary directory\n";
      return 2;
    }
    controller::ResolvedPipeline resolved;
    resolved.ok = true;
    {
      git::GitCache cache(cache_tmpl);
      controller::load_libraries(cache, o.libraries, source,
                                 format == pipelines::SourceFormat::Yaml ? "yaml" : "jenkinsfile",
                                 resolved, true);
    }
    std::error_code ec;
    fs::remove_all(cache_tmpl, ec);
    std::string decode_error;
    if (!resolved.ok || !pipelines::decode_libraries(resolved.libraries, libs, decode_error)) {
      err << "gantry: run: " << (resolved.ok ? decode_error : resolved.error) << "\n";
      return 2;
    }
  }
  auto loaded = pipelines::load_pipeline(source, format, o.libraries.empty() ? nullptr : &libs);
  if (!loaded.pipeline) {
    err << pipelines::render_all(loaded.diagnostics, o.file, source);
    return 1;
  }
  StagePicker picker(o, *loaded.pipeline);
  if (std::string why = picker.unknown_names(); !why.empty()) {
    err << "gantry: run: " << why << "\n";
    return 2;
  }

  char tmpl[] = "/tmp/gantry-run-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    err << "gantry: run: cannot create a temporary directory\n";
    return 2;
  }
  const std::string tmp = tmpl;
  std::string workspace = fs::current_path().string();
  if (!o.here) {
    std::string copy_error;
    if (copy_working_tree(tmp + "/workspace", copy_error) < 0) {
      err << "gantry: run: " << copy_error << " (--workspace here runs in place)\n";
      std::error_code ec;
      fs::remove_all(tmp, ec);
      return 2;
    }
    workspace = tmp + "/workspace";
  }
  const std::string keep = o.out_dir.empty() ? next_run_dir() : o.out_dir;
  // A container engine, only when some stage runs in a container (probing starts one).
  std::shared_ptr<const agent::ContainerEngine> engine;
  std::string no_engine;
  bool containers = pipelines::runs_in_container(loaded.pipeline->agent.kind);
  for_each_stage(loaded.pipeline->stages, [&](const pipelines::Stage& s) {
    containers = containers || pipelines::runs_in_container(s.agent.kind) ||
                 (s.matrix && pipelines::runs_in_container(s.matrix->agent.kind));
  });
  if (containers) {
    if (auto found = agent::detect_container_engine("auto", no_engine))
      engine = std::make_shared<const agent::ContainerEngine>(std::move(*found));
  }
  say_what_is_ignored(*loaded.pipeline, o, engine.get(), no_engine, out);

  // The daemons' own log lines are for daemons: only their errors show here.
  log::set_min_level(log::Level::Error);
  controller::Config config;
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.data_dir = tmp + "/controller";
  // Gates belong to the controller: deploys (when run) go ungated, and inputs wait for the user
  // here.
  config.open_gates = true;
  config.local_inputs = true;
  config.libraries = o.libraries;
  config.skip_unknown_libraries = true;
  for_each_stage(loaded.pipeline->stages, [&](const pipelines::Stage& s) {
    if (s.deploy) config.environments[s.deploy->environment].name = s.deploy->environment;
  });
  // The user at the terminal, as the one who runs and answers.
  const char* user_env = std::getenv("USER");
  const std::string user = user_env && *user_env ? user_env : "local";
  const std::string user_token = controller::random_token();
  config.users.push_back({user, "admin", {}, {}, controller::sha256_hex(user_token)});
  controller::ControllerOptions copts;
  copts.any_label = true;
  copts.skip_stage = [&picker](const pipelines::Stage& s, const std::string& id) {
    return picker.skip(s, id);
  };
  int code = 2;
  try {
    net::EventLoop loop;
    controller::Controller ctl(config, loop, copts);
    std::string error;
    if (!ctl.start(error)) throw std::runtime_error(error);
    std::string server = "http://127.0.0.1:" + std::to_string(ctl.port());
    agent::AgentConfig ac;
    ac.controller = server;
    ac.token = ctl.tokens().agent;
    ac.name = "local";
    ac.executors = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    ac.work_dir = tmp + "/agent";
    ac.fixed_workspace = workspace;
    ac.tools_from_path = true;  // tools { } and tool: what this machine has on PATH
    ac.container_engine = "none";
    ac.found_engine = engine;
    agent::Agent agent(loop, ac);
    agent.start();
    std::thread io([&] { loop.run(); });

    Remote remote;
    remote.server = server;
    remote.token = user_token;
    remote.color = ::isatty(STDOUT_FILENO) != 0;
    std::string job = fs::current_path().filename().string();
    // In a git checkout, the branch is the run's ref (for `when { branch }`).
    std::string ref;
    {
      std::ifstream head(".git/HEAD");
      std::string line;
      std::getline(head, line);
      if (line.rfind("ref: ", 0) == 0) ref = line.substr(5);
    }
    std::string body =
        create_run_body("", ref, o.file, o.params, source,
                        format == pipelines::SourceFormat::Yaml ? "yaml" : "jenkinsfile");
    // The job name is the directory's, as Jenkins names a job after its folder.
    body.insert(body.size() - 1, ",\"job\":" + json(job.empty() ? "local" : job).dump());
    net::ClientResponse resp = call(remote, "POST", "/api/v1/runs", body);
    if (!resp.ok || resp.status != 201) {
      err << "gantry: run: " << (resp.ok ? error_message(resp.body) : resp.error) << "\n";
    } else {
      RunView v;
      parse_run(resp.body, v);
      out << "gantry run: " << o.file << " in "
          << (o.here ? workspace + " (--workspace here)"
                     : "a copy of the working tree (" + workspace + ")")
          << "\n";
      out.flush();
      LocalView view(remote, v.id, o, keep, out, err);
      code = view.follow();
    }
    loop.post([&] {
      agent.stop();
      ctl.stop();
      loop.stop();
    });
    io.join();
  } catch (const std::exception& e) {
    err << "gantry: run: " << e.what() << "\n";
    code = 2;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return code;
}

}  // namespace gantry::cli
