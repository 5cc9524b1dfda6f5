// Finding a container engine that works here, and running its short commands.
#include "container_engine.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "process.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxOutput = size_t{1} << 20;
constexpr std::chrono::seconds kProbeLimit(60);  // a first podman start initialises storage

std::string which(const std::string& name) {
  const char* path = std::getenv("PATH");
  return find_on_path(name, std::string(path ? path : "") + ":/usr/local/bin");
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t start = s.find_first_not_of(" \n");
  return start == std::string::npos ? std::string() : s.substr(start);
}

// The last line that says something: engines print the reason last.
std::string last_line(const std::string& out) {
  std::string t = trim(out);
  size_t nl = t.rfind('\n');
  std::string line = nl == std::string::npos ? t : t.substr(nl + 1);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

std::string limit_text(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("-1") : std::to_string(v);
}

// --ulimit sets to try after the engine's defaults: the agent's own limits (a
// container may keep what the agent has), then conservative ones.
std::vector<std::vector<std::string>> ulimit_choices() {
  std::vector<std::vector<std::string>> out;
  out.push_back({});
  rlimit files{}, procs{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && ::getrlimit(RLIMIT_NPROC, &procs) == 0) {
    std::string nofile = "nofile=" + limit_text(files.rlim_cur) + ":" + limit_text(files.rlim_max);
    out.push_back({"--ulimit", nofile, "--ulimit",
                   "nproc=" + limit_text(procs.rlim_cur) + ":" + limit_text(procs.rlim_max)});
    rlim_t n = std::min<rlim_t>(procs.rlim_cur, 4096);
    out.push_back(
        {"--ulimit", nofile, "--ulimit", "nproc=" + std::to_string(n) + ":" + std::to_string(n)});
    rlim_t f = std::min<rlim_t>(files.rlim_cur, 1024);
    out.push_back({"--ulimit", "nofile=" + std::to_string(f) + ":" + std::to_string(f), "--ulimit",
                   "nproc=" + std::to_string(n) + ":" + std::to_string(n)});
  }
  return out;
}

// A root filesystem made of the host's /usr, bind-mounted read-only: enough to
// run /usr/bin/true without any image.
std::string probe_root(std::string& error) {
  std::string dir =
      (fs::temp_directory_path() / ("gantry-probe-root-" + std::to_string(::getpid()))).string();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(fs::path(dir) / "usr", ec);
  if (ec) {
    error = "cannot make " + dir + ": " + ec.message();
    return {};
  }
  for (const char* link : {"bin", "lib", "lib64", "sbin"}) {
    if (fs::exists(fs::path("/usr") / link)) {
      fs::create_directory_symlink(std::string("usr/") + link, fs::path(dir) / link, ec);
    }
  }
  return dir;
}

std::optional<ContainerEngine> try_podman(const std::string& program, std::string& report) {
  ContainerEngine e;
  e.name = "podman";
  std::string out;
  if (run_engine_command({program, "version", "--format", "{{.Client.Version}}"}, out,
                         kProbeLimit) != 0) {
    report += "podman: `podman version` failed: " + last_line(out) + "; ";
    return std::nullopt;
  }
  e.version = trim(out);
  std::string error;
  std::string root = probe_root(error);
  if (root.empty()) {
    report += "podman: " + error + "; ";
    return std::nullopt;
  }
  const std::string marker = "gantry-probe-" + std::to_string(::getpid());
  const std::vector<std::vector<std::string>> globals = {
      {},
      {"--runtime", "runc"},
      {"--cgroup-manager", "cgroupfs"},
      {"--runtime", "runc", "--cgroup-manager", "cgroupfs"},
  };
  std::string first_error;
  std::optional<ContainerEngine> found;
  for (const auto& global : globals) {
    // A runtime that is not installed is not worth the ulimit variants.
    if (global.size() >= 2 && global[0] == "--runtime" && which(global[1]).empty()) continue;
    for (const auto& ulimits : ulimit_choices()) {
      // Options, then --rootfs DIR and the command.
      std::vector<std::string> ordered = {program};
      ordered.insert(ordered.end(), global.begin(), global.end());
      for (const char* a : {"run", "--rm", "--network", "none", "-v", "/usr:/usr:ro"})
        ordered.emplace_back(a);
      ordered.insert(ordered.end(), ulimits.begin(), ulimits.end());
      ordered.emplace_back("--rootfs");
      ordered.push_back(root);
      // It must really run: the container prints a word of ours (a program that only
      // exits 0, a stand-in named podman, proves nothing).
      ordered.emplace_back("/usr/bin/echo");
      ordered.push_back(marker);
      std::string probe_out;
      int code = run_engine_command(ordered, probe_out, kProbeLimit);
      // The word alone on a line: a stand-in that echoes its arguments does not count.
      const bool printed = ("\n" + probe_out).find("\n" + marker + "\n") != std::string::npos;
      if (code == 0 && printed) {
        e.command = {program};
        e.command.insert(e.command.end(), global.begin(), global.end());
        e.run_flags = ulimits;
        found = e;
        break;
      }
      if (first_error.empty())
        first_error = code == 0 ? "it exits 0 but runs nothing" : last_line(probe_out);
    }
    if (found) break;
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  if (!found) {
    report += "podman " + e.version + ": no runtime, cgroup manager and limits run a container (" +
              first_error + "); ";
    return std::nullopt;
  }
  std::vector<std::string> info =
      found->argv({"info", "--format",
                   "{{.Host.Security.Rootless}} {{.Host.OCIRuntime.Name}} "
                   "{{.Host.CgroupManager}}"});
  if (run_engine_command(info, out, kProbeLimit) == 0) {
    std::string t = trim(out);
    size_t a = t.find(' ');
    size_t b = a == std::string::npos ? a : t.find(' ', a + 1);
    found->rootless = t.substr(0, a) == "true";
    if (b != std::string::npos) {
      found->runtime = t.substr(a + 1, b - a - 1);
      found->cgroup_manager = t.substr(b + 1);
    }
  } else {
    found->rootless = ::geteuid() != 0;
  }
  return found;
}

std::optional<ContainerEngine> try_docker(const std::string& program, std::string& report) {
  ContainerEngine e;
  e.name = "docker";
  e.command = {program};
  std::string out;
  // `docker info` needs the daemon; the client alone answers `version` but runs nothing.
  if (run_engine_command({program, "info", "--format", "{{.ServerVersion}} {{.SecurityOptions}}"},
                         out, kProbeLimit) != 0) {
    report += "docker: its daemon does not answer (" + last_line(out) + "); ";
    return std::nullopt;
  }
  std::string t = trim(out);
  e.version = t.substr(0, t.find(' '));
  if (e.version.empty() || !std::isdigit(static_cast<unsigned char>(e.version[0]))) {
    report += "docker: `docker info` names no server version; ";
    return std::nullopt;
  }
  e.rootless = t.find("rootless") != std::string::npos;
  return e;
}

}  // namespace

std::string ContainerEngine::describe() const {
  std::string out = name + " " + version + " (" + (rootless ? "rootless" : "rootful");
  if (!runtime.empty()) out += ", runtime " + runtime;
  if (!cgroup_manager.empty()) out += ", cgroup manager " + cgroup_manager;
  std::string flags;
  for (size_t i = 1; i < command.size(); ++i) flags += " " + command[i];
  for (const auto& f : run_flags) flags += " " + f;
  if (!flags.empty()) out += ", flags" + flags;
  return out + ")";
}

std::vector<std::string> ContainerEngine::argv(std::vector<std::string> args) const {
  std::vector<std::string> out = command;
  out.insert(out.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return out;
}

int run_engine_command(const std::vector<std::string>& argv, std::string& out,
                       std::chrono::milliseconds limit,
                       const std::map<std::string, std::string>* env) {
  out.clear();
  Process proc;
  std::string error;
  ProcessSpec spec{argv, env ? *env : process_environment(), "/", "", std::nullopt};
  if (!proc.start(spec, error)) {
    out = "cannot start " + argv.front() + ": " + error;
    return -1;
  }
  std::mutex m;
  std::condition_variable cv;
  bool done = false, timed_out = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, limit, [&] { return done; })) {
      timed_out = true;
      lock.unlock();
      proc.terminate_tree(std::chrono::milliseconds(1000));
    }
  });
  char buf[8192];
  for (;;) {
    long n = proc.read(buf, sizeof buf);
    if (n <= 0) break;
    if (out.size() < kMaxOutput) out.append(buf, static_cast<size_t>(n));
  }
  int code = proc.wait();
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (timed_out) {
    out +=
        "\n" + argv.front() + ": no answer within " + std::to_string(limit.count() / 1000) + " s";
    return -1;
  }
  return code;
}

std::optional<ContainerEngine> detect_container_engine(const std::string& wanted,
                                                       std::string& report) {
  report.clear();
  if (wanted == "none") {
    report = "container_engine is none";
    return std::nullopt;
  }
  if (wanted == "kubernetes") {
    // The agent of a pod a controller made (kubernetes: in its config): the pod's containers
    // are there already; steps reach them through the API server's exec (gantry-agent
    // kube-exec, agent/kube_exec_main.cpp).
    const char* pod = std::getenv("GANTRY_KUBE_POD");
    const char* containers = std::getenv("GANTRY_KUBE_CONTAINERS");
    if (!pod || !*pod || !containers || !*containers) {
      report =
          "kubernetes: not the agent of a pod a Gantry controller made (GANTRY_KUBE_POD, "
          "GANTRY_KUBE_CONTAINERS unset)";
      return std::nullopt;
    }
    ContainerEngine e;
    e.name = "kubernetes";
    e.version = "pod " + std::string(pod);
    char self[4096] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    e.command = {n > 0 ? std::string(self, static_cast<size_t>(n)) : "gantry-agent", "kube-exec"};
    return e;
  }
  std::vector<std::string> order;
  if (wanted == "auto" || wanted.empty()) {
    order = {"podman", "docker"};
  } else {
    order = {wanted};
  }
  if (!wanted.empty() && wanted.front() == '/') {  // a path: /opt/podman/bin/podman
    order = {wanted};
  }
  for (const std::string& entry : order) {
    const bool path = entry.front() == '/';
    const std::string base = path ? entry.substr(entry.rfind('/') + 1) : entry;
    const std::string name = base.find("docker") != std::string::npos ? "docker" : "podman";
    std::string program = path ? (::access(entry.c_str(), X_OK) == 0 ? entry : "") : which(entry);
    if (program.empty()) {
      report += entry + ": not installed; ";
      continue;
    }
    std::optional<ContainerEngine> e =
        name == "docker" ? try_docker(program, report) : try_podman(program, report);
    if (e) return e;
  }
  if (report.size() >= 2) report.resize(report.size() - 2);
  return std::nullopt;
}

int remove_leftover_containers(const ContainerEngine& engine, const std::string& agent_id) {
  std::string out;
  if (run_engine_command(
          engine.argv({"ps", "-a", "-q", "--filter", "label=gantry.agent=" + agent_id}), out,
          std::chrono::seconds(60)) != 0)
    return 0;
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string id = trim(out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (!id.empty()) ids.push_back(id);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (ids.empty()) return 0;
  std::vector<std::string> rm = {"rm", "-f", "-v"};
  rm.insert(rm.end(), ids.begin(), ids.end());
  run_engine_command(engine.argv(rm), out, std::chrono::seconds(120));
  return static_cast<int>(ids.size());
}

bool split_args(const std::string& text, const std::map<std::string, std::string>& env,
                std::vector<std::string>& out, std::string& error) {
  std::string word;
  bool in_word = false;
  auto expand = [&](size_t& i) {  // at '$'
    size_t start = i + 1;
    std::string name;
    if (start < text.size() && text[start] == '{') {
      size_t close = text.find('}', start);
      if (close == std::string::npos) {
        word += '$';
        return;
      }
      name = text.substr(start + 1, close - start - 1);
      i = close;
    } else {
      size_t end = start;
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
        ++end;
      if (end == start) {
        word += '$';
        return;
      }
      name = text.substr(start, end - start);
      i = end - 1;
    }
    if (auto it = env.find(name); it != env.end()) word += it->second;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      size_t close = text.find('\'', i + 1);
      if (close == std::string::npos) {
        error = "unclosed ' in \"" + text + "\"";
        return false;
      }
      word += text.substr(i + 1, close - i - 1);
      in_word = true;
      i = close;
    } else if (c == '"') {
      in_word = true;
      size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        if (text[j] == '\\' && j + 1 < text.size() &&
            (text[j + 1] == '"' || text[j + 1] == '\\' || text[j + 1] == '$')) {
          word += text[++j];
        } else if (text[j] == '$') {
          expand(j);
        } else {
          word += text[j];
        }
      }
      if (j >= text.size()) {
        error = "unclosed \" in \"" + text + "\"";
        return false;
      }
      i = j;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else if (c == '$') {
      expand(i);
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(word));
  return true;
}

}  // namespace gantry::agent
