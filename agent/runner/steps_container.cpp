// Container agents (SPEC §5, docs/containers.md): `agent { docker }`,
// `agent { dockerfile }` and `agent { kubernetes }` run the stage's `sh` steps
// inside containers the job starts with the agent's engine, and removes at its
// end; `container('name') { }` picks one of a pod's containers.
//
// The workspace (and WORKSPACE@tmp) is mounted at the same path and is the
// working directory; steps run as the job's user (`-u uid:gid`, as Jenkins
// does) so what they leave in the workspace is not root's. The job's variables
// go in by name (`-e NAME`): their values travel in the engine's environment,
// never on a command line. Every process inside carries the job's cookie, so
// cancel and timeouts reach them as they reach host processes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <yaml-cpp/yaml.h>

#include "script_engine.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;
using pipelines::AgentKind;
using pipelines::Step;
using pipelines::Value;

namespace {

constexpr size_t kMaxPodYaml = size_t{256} << 10;
constexpr size_t kMaxPodContainers = 16;

// Variables that describe the machine, not the job: the container keeps its own.
bool machine_variable(const std::string& name) {
  static const std::set<std::string> kNames = {
      "PATH",           "HOME",  "HOSTNAME",   "USER",
      "LOGNAME",        "SHELL", "PWD",        "OLDPWD",
      "TERM",           "SHLVL", "TMPDIR",     "LANG",
      "MAIL",           "_",     "LD_PRELOAD", "LD_LIBRARY_PATH",
      "XDG_RUNTIME_DIR"};
  return kNames.count(name) > 0;
}

const std::map<std::string, std::string>& agent_environment() {
  static const std::map<std::string, std::string> env = process_environment();
  return env;
}

std::string base64(std::string_view in) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kChars[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kChars[(v >> 18) & 63];
    out += kChars[(v >> 12) & 63];
    out += i + 1 < in.size() ? kChars[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// FNV-1a, 64 bits, as hex: an image tag from what the image is built from.
std::string content_hash(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// A name the engine accepts: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
std::string engine_name(std::string_view text) {
  std::string out;
  for (char c : text) {
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ? c : '-';
  }
  if (out.empty() || !std::isalnum(static_cast<unsigned char>(out[0]))) out = "g" + out;
  return out.substr(0, 100);
}

// "https://registry.example.com/" -> "registry.example.com".
std::string registry_host(std::string url) {
  if (size_t scheme = url.find("://"); scheme != std::string::npos) url = url.substr(scheme + 3);
  if (size_t slash = url.find('/'); slash != std::string::npos) url = url.substr(0, slash);
  return url;
}

// Whether `image` names its registry ("quay.io/x", "localhost:5000/x", "localhost/x").
bool names_registry(const std::string& image) {
  size_t slash = image.find('/');
  if (slash == std::string::npos) return false;
  std::string first = image.substr(0, slash);
  return first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
         first == "localhost";
}

// "registry:5000/team/app:1.2" -> "registry:5000/team/app".
std::string without_tag(const std::string& image) {
  size_t slash = image.rfind('/');
  size_t colon = image.find(':', slash == std::string::npos ? 0 : slash);
  return colon == std::string::npos ? image : image.substr(0, colon);
}

}  // namespace

StepStatus StepRunner::shell_words(const std::string& text, const StepScope& scope,
                                   std::vector<std::string>& words) {
  words.clear();
  if (text.find_first_not_of(" \t\n") == std::string::npos) return StepStatus{};
  // The job's shell, as the job user, in the step's directory: `$(pwd)`, backticks and
  // quotes mean what they mean in an `sh` step; the engine then gets the words as argv.
  // The words go to a file; what the commands in them print on stderr goes to the log.
  std::string file, error;
  if (!temp_path("words", file, error)) return StepStatus::failure(error);
  StepScope host = scope;
  host.container.clear();
  host.env["GANTRY_WORDS"] = file;
  StepStatus st = run_process({"/bin/sh", "-c", "printf '%s\\0' " + text + " > \"$GANTRY_WORDS\""},
                              host, nullptr);
  std::string out;
  {
    std::ifstream in(file, std::ios::binary);
    out.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::error_code ignored;
  fs::remove(file, ignored);
  if (!st.ok) return st;
  if (std::get<int64_t>(st.value.data) != 0)
    return StepStatus::failure("the shell could not expand: " + text);
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\0', pos);
    if (end == std::string::npos) break;
    words.push_back(out.substr(pos, end - pos));
    pos = end + 1;
  }
  return StepStatus{};
}

std::string StepRunner::container_user() const {
  return job_.run_as ? std::to_string(job_.run_as->uid) + ":" + std::to_string(job_.run_as->gid)
                     : std::to_string(::geteuid()) + ":" + std::to_string(::getegid());
}

std::vector<std::string> StepRunner::container_user_flags() const {
  std::vector<std::string> flags = {"-u", container_user()};
  // Rootless podman maps the agent's user to root inside unless told to keep its id.
  if (job_.container_engine->rootless && job_.container_engine->name == "podman")
    flags.emplace_back("--userns=keep-id");
  return flags;
}

std::vector<std::string> StepRunner::exec_in_container(const std::vector<std::string>& argv,
                                                       const StepScope& scope) const {
  const ContainerEngine& engine = *job_.container_engine;
  const bool pod = engine.name == "kubernetes";
  // In a pod: `gantry-agent kube-exec` (the API server's exec), which takes the variables by
  // name from its own environment and sends their values on stdin, never in the URL.
  std::vector<std::string> args =
      pod ? std::vector<std::string>{"--container", scope.container, "--workdir", scope.cwd}
          : std::vector<std::string>{"exec", "-u", container_user(), "-w", scope.cwd};
  const auto& own = agent_environment();
  for (const auto& [name, value] : effective_env(scope)) {
    if (machine_variable(name)) continue;
    // As Jenkins does: what the job set or changed, not what the agent's own environment has.
    if (auto it = own.find(name); it != own.end() && it->second == value) continue;
    args.emplace_back(pod ? "--env" : "-e");
    args.push_back(name);
  }
  // Every process of the step carries the job's cookie: cancel and timeouts find them.
  args.emplace_back(pod ? "--env" : "-e");
  args.emplace_back("GANTRY_JOB_COOKIE");
  if (pod) {
    args.emplace_back("--");
  } else {
    args.push_back(scope.container);
  }
  args.insert(args.end(), argv.begin(), argv.end());
  return engine.argv(std::move(args));
}

StepStatus StepRunner::engine_command(std::vector<std::string> args, const StepScope& scope,
                                      std::string* capture) {
  StepScope host = scope;
  host.container.clear();
  host.cwd = job_.workspace;
  return run_process(job_.container_engine->argv(std::move(args)), host, capture,
                     ProcessMode::Engine);
}

StepStatus StepRunner::logged_in_command(std::vector<std::string> args, const std::string& registry,
                                         const std::string& credentials_id,
                                         const StepScope& scope) {
  const ContainerEngine& engine = *job_.container_engine;
  std::string auth_dir;
  if (!credentials_id.empty()) {
    auto it = job_.spec.credentials.find(credentials_id);
    if (it == job_.spec.credentials.end())
      return StepStatus::failure("registry credentials '" + credentials_id +
                                 "': no such credentials for this job");
    // The login lives in a file of the agent's (0600) for this command alone: never in the
    // engine's shared login state, never on a command line.
    std::string error;
    if (!temp_path("registry-auth", auth_dir, error)) return StepStatus::failure(error);
    std::error_code ec;
    fs::create_directories(auth_dir, ec);
    ::chmod(auth_dir.c_str(), 0700);
    std::string host = registry.empty() ? "docker.io" : registry_host(registry);
    std::string file = auth_dir + "/config.json";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::string body = "{\"auths\":{\"" + host + "\":{\"auth\":\"" + base64(it->second) + "\"}}}\n";
    bool ok = fd >= 0 && ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
    if (fd >= 0) ::close(fd);
    if (!ok) {
      fs::remove_all(auth_dir, ec);
      return StepStatus::failure("cannot write the registry login");
    }
    if (engine.name == "podman") {
      args.insert(args.begin() + 1, {"--authfile", file});
    } else {
      args.insert(args.begin(), {"--config", auth_dir});  // docker's is a global flag
    }
  }
  StepStatus st = engine_command(std::move(args), scope);
  if (!auth_dir.empty()) {
    std::error_code ec;
    fs::remove_all(auth_dir, ec);
  }
  return st;
}

StepStatus StepRunner::pull_if_needed(const std::string& image, bool always,
                                      const std::string& registry,
                                      const std::string& credentials_id, const StepScope& scope) {
  const ContainerEngine& engine = *job_.container_engine;
  if (!always) {
    std::string out;
    std::vector<std::string> probe =
        engine.name == "podman" ? engine.argv({"image", "exists", image})
                                : engine.argv({"image", "inspect", "--format", "{{.Id}}", image});
    if (run_engine_command(probe, out, std::chrono::seconds(60)) == 0) return StepStatus{};
  }
  log("Pulling " + image);
  StepStatus st = logged_in_command({"pull", image}, registry, credentials_id, scope);
  if (!st.ok) return st;
  if (std::get<int64_t>(st.value.data) != 0)
    return StepStatus::failure("cannot pull " + image + " (the engine's message is above)");
  return StepStatus{};
}

StepStatus StepRunner::start_container(const std::string& image,
                                       const std::vector<std::string>& flags,
                                       const std::vector<std::string>& command,
                                       const StepScope& scope, std::string& name,
                                       const PullPolicy& pull, bool auto_remove) {
  const ContainerEngine& engine = *job_.container_engine;
  name = engine_name("gantry-" + job_.agent_id + "-" + job_.cookie.substr(0, 12) + "-" +
                     std::to_string(++job_.containers_named));
  std::string ws = job_.workspace;
  while (ws.size() > 1 && ws.back() == '/') ws.pop_back();
  std::error_code ec;
  fs::create_directories(ws + "@tmp", ec);
  if (pull.always) {
    StepStatus st = pull_if_needed(image, true, pull.registry, pull.credentials_id, scope);
    if (!st.ok) return st;
  }
  std::vector<std::string> args = {
      "run", "-d",
      // Pulled here, when missing, with the job's registry login.
      "--pull=never", "--name", name, "--label", "gantry.agent=" + job_.agent_id, "--label",
      "gantry.job=" + job_.spec.job_name + "#" + std::to_string(job_.spec.run_number) + "/" +
          job_.spec.stage_name,
      "-w", ws, "-v", ws + ":" + ws, "-v", ws + "@tmp:" + ws + "@tmp"};
  // `-v /host/path:/in` of a path that does not exist: docker creates the directory, podman
  // refuses. Do as docker does, so `args '-v $HOME/.m2:/root/.m2'` works with either.
  if (engine.name == "podman") {
    for (size_t i = 0; i < flags.size(); ++i) {
      std::string spec;
      if ((flags[i] == "-v" || flags[i] == "--volume") && i + 1 < flags.size()) {
        spec = flags[i + 1];
      } else if (flags[i].rfind("--volume=", 0) == 0) {
        spec = flags[i].substr(9);
      } else if (flags[i].rfind("-v", 0) == 0 && flags[i].size() > 2) {
        spec = flags[i].substr(2);
      }
      const std::string source = spec.substr(0, spec.find(':'));
      if (spec.find(':') != std::string::npos && !source.empty() && source.front() == '/') {
        std::error_code ignored;
        if (!fs::exists(source, ignored)) fs::create_directories(source, ignored);
      }
    }
  }
  // A container of its own also carries --rm: if it stops by itself (its command ends, the
  // agent dies), the engine removes it and its anonymous volumes. A pod's first container
  // cannot go before its sidecars: those are removed one by one, newest first.
  if (auto_remove) args.emplace_back("--rm");
  args.insert(args.end(), engine.run_flags.begin(), engine.run_flags.end());
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back(image);
  args.insert(args.end(), command.begin(), command.end());
  // Recorded before it starts: removed at the job's end even if starting fails halfway.
  job_.started_containers.push_back(name);
  if (auto_remove) job_.auto_removed.insert(name);
  std::string out;
  StepStatus st = engine_command(args, scope, &out);
  if (!st.ok) return st;
  if (std::get<int64_t>(st.value.data) != 0 &&
      (out.find("image not known") != std::string::npos ||
       out.find("No such image") != std::string::npos ||
       out.find("Unable to find image") != std::string::npos)) {
    // Not here yet: pull it (failing with the registry's own message), then start again.
    st = pull_if_needed(image, true, pull.registry, pull.credentials_id, scope);
    if (!st.ok) return st;
    st = engine_command(args, scope, &out);
    if (!st.ok) return st;
  }
  if (std::get<int64_t>(st.value.data) != 0) {
    job_.spool.append(out);
    return StepStatus::failure("cannot start a container from " + image);
  }
  // A container whose command ended at once (an entrypoint that does not run `cat`) would
  // fail every step with a puzzling message: say it here, with what it printed.
  std::string state;
  run_engine_command(engine.argv({"inspect", "--format", "{{.State.Running}}", name}), state,
                     std::chrono::seconds(30));
  if (state.rfind("true", 0) != 0) {
    std::string logs;
    run_engine_command(engine.argv({"logs", name}), logs, std::chrono::seconds(30));
    job_.spool.append(logs);
    return StepStatus::failure("the container from " + image +
                               " stopped right after it started (its entrypoint must run the "
                               "command it is given; `args '--entrypoint='` overrides it)");
  }
  return StepStatus{};
}

StepStatus StepRunner::enter_container_agent(const pipelines::Agent& agent, StepScope& scope) {
  if (!job_.container_engine) {
    log(std::string("WARNING: this machine has no container engine: the ") +
        pipelines::agent_kind_name(agent.kind) +
        " agent's steps run on it instead (docs/containers.md)");
    return StepStatus{};
  }
  const ContainerEngine& engine = *job_.container_engine;
  // Fields written as expressions take the stage's values.
  std::map<std::string, std::string> fields = agent.fields;
  for (const auto& [key, expr] : agent.field_exprs) {
    if (!expr) continue;
    pipelines::EvalResult r = job_.tree && job_.spec.pipeline_format != "yaml"
                                  ? this->engine().evaluate(*expr, scope)
                                  : pipelines::evaluate(*expr, context(scope));
    if (auto* e = std::get_if<pipelines::EvalError>(&r))
      return StepStatus::failure("agent " + key + ": " + e->message);
    fields[key] = std::get<Value>(r).to_string();
  }
  auto field = [&fields](const std::string& key, const std::string& fallback = "") {
    auto it = fields.find(key);
    return it == fields.end() ? fallback : it->second;
  };
  if (engine.name == "kubernetes") {
    // This agent is the pod's own (the controller made the pod from this stage's yaml): its
    // containers run already and share the workspace volume.
    if (agent.kind != AgentKind::Kubernetes)
      return StepStatus::failure(std::string("this agent runs in a kubernetes pod: a ") +
                                 pipelines::agent_kind_name(agent.kind) +
                                 " agent needs an agent with a container engine");
    std::string names =
        std::getenv("GANTRY_KUBE_CONTAINERS") ? std::getenv("GANTRY_KUBE_CONTAINERS") : "";
    size_t pos = 0;
    while (pos <= names.size()) {
      size_t comma = names.find(',', pos);
      if (comma == std::string::npos) comma = names.size();
      if (comma > pos)
        job_.pod_containers[names.substr(pos, comma - pos)] = names.substr(pos, comma - pos);
      pos = comma + 1;
    }
    const char* d = std::getenv("GANTRY_KUBE_DEFAULT_CONTAINER");
    job_.default_container = d && job_.pod_containers.count(d) ? d : "";
    if (job_.default_container.empty() && !job_.pod_containers.empty())
      job_.default_container = job_.pod_containers.begin()->first;
    if (job_.default_container.empty())
      return StepStatus::failure(
          "kubernetes: the pod lists no containers (GANTRY_KUBE_CONTAINERS)");
    scope.container = job_.default_container;
    log("In pod " + engine.version.substr(4) + ", container " + scope.container);
    // The agent may start before its siblings run (their images still pulling, or failing
    // to): each must answer an exec before the steps go there. Bounded; the controller fails
    // the job sooner when the cluster says a pull failed.
    for (const auto& [name, _] : job_.pod_containers) {
      StepScope probe = scope;
      probe.container = name;
      std::string out;
      for (int attempt = 1;; ++attempt) {
        StepStatus st = run_process({"true"}, probe, &out, ProcessMode::Step);
        if (!st.ok) return st;
        if (std::get<int64_t>(st.value.data) == 0) break;
        if (attempt >= 60)
          return StepStatus::failure(
              "kubernetes: container " + name +
              " of the pod does not run: " + out.substr(0, out.find_last_not_of('\n') + 1));
        out.clear();
        std::this_thread::sleep_for(std::chrono::seconds(1));
        if (job_.control.interrupted()) return interruption();
      }
    }
    return StepStatus{};
  }
  const std::vector<std::string> user_flags = container_user_flags();

  if (agent.kind == AgentKind::Kubernetes) {
    std::string yaml = field("yaml");
    if (yaml.empty() && !field("yamlFile").empty()) {
      std::string path = resolve(scope, field("yamlFile"));
      std::ifstream in(path, std::ios::binary);
      if (!in) return StepStatus::failure("kubernetes yamlFile " + path + ": cannot read it");
      yaml.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (yaml.size() > kMaxPodYaml) return StepStatus::failure("kubernetes yaml: over 256 KiB");
    if (yaml.empty())
      return StepStatus::failure(
          "kubernetes agent: give the pod as `yaml` or `yamlFile` (inheritFrom and "
          "containerTemplate need a cluster's pod templates: docs/containers.md)");
    YAML::Node pod;
    try {
      pod = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
      return StepStatus::failure("kubernetes yaml: " + e.msg + " (line " +
                                 std::to_string(e.mark.line + 1) + ")");
    }
    YAML::Node containers = pod["spec"] ? pod["spec"]["containers"] : YAML::Node();
    if (!containers || !containers.IsSequence() || containers.size() == 0)
      return StepStatus::failure("kubernetes yaml: the pod has no spec.containers");
    if (containers.size() > kMaxPodContainers)
      return StepStatus::failure("kubernetes yaml: more than 16 containers");
    std::string first;  // the pod's network is the first container's: localhost is shared
    try {
      for (const auto& c : containers) {
        std::string cname = c["name"] ? c["name"].as<std::string>() : "";
        std::string image = c["image"] ? c["image"].as<std::string>() : "";
        if (cname.empty() || image.empty())
          return StepStatus::failure("kubernetes yaml: every container needs a name and an image");
        if (cname == "jnlp") continue;  // Jenkins' own agent container: the agent is here
        bool always = c["imagePullPolicy"] && c["imagePullPolicy"].as<std::string>() == "Always";
        std::vector<std::string> flags;
        if (c["tty"] && c["tty"].as<bool>()) flags.emplace_back("-t");
        if (!first.empty()) flags.insert(flags.end(), {"--network", "container:" + first});
        if (c["env"] && c["env"].IsSequence()) {
          for (const auto& e : c["env"]) {
            if (!e["name"]) continue;
            flags.emplace_back("-e");
            flags.push_back(e["name"].as<std::string>() + "=" +
                            (e["value"] ? e["value"].as<std::string>() : ""));
          }
        }
        if (c["workingDir"]) flags.insert(flags.end(), {"-w", c["workingDir"].as<std::string>()});
        std::vector<std::string> command;
        if (c["command"] && c["command"].IsSequence() && c["command"].size() > 0) {
          flags.insert(flags.end(), {"--entrypoint", c["command"][0].as<std::string>()});
          for (size_t i = 1; i < c["command"].size(); ++i)
            command.push_back(c["command"][i].as<std::string>());
        }
        if (c["args"] && c["args"].IsSequence()) {
          for (const auto& a : c["args"]) command.push_back(a.as<std::string>());
        }
        std::string name;
        log("Starting container " + cname + " (" + image + ")");
        if (StepStatus st =
                start_container(image, flags, command, scope, name, PullPolicy{always}, false);
            !st.ok)
          return st;
        if (first.empty()) first = name;
        job_.pod_containers[cname] = name;
        if (job_.default_container.empty()) job_.default_container = cname;
      }
    } catch (const YAML::Exception& e) {
      return StepStatus::failure("kubernetes yaml: " + e.msg);
    }
    if (job_.pod_containers.empty())
      return StepStatus::failure("kubernetes yaml: the pod has no container but jnlp");
    if (std::string d = field("defaultContainer"); !d.empty()) {
      if (!job_.pod_containers.count(d))
        return StepStatus::failure("kubernetes defaultContainer '" + d +
                                   "' is not a container of the pod");
      job_.default_container = d;
    }
    // Steps outside container('x') run where Jenkins' kubernetes plugin runs them: in the
    // default container when one is named, else (the plugin's jnlp) in the first one.
    scope.container = job_.pod_containers[job_.default_container];
    return StepStatus{};
  }

  std::string image;
  PullPolicy pull;  // a dockerfile's image is built here
  if (agent.kind == AgentKind::Dockerfile) {
    std::string dir = field("dir", ".");
    std::string file = field("filename", "Dockerfile");
    std::string context_dir = resolve(scope, dir);
    std::string path = (fs::path(context_dir) / file).lexically_normal().string();
    std::ifstream in(path, std::ios::binary);
    if (!in) return StepStatus::failure("dockerfile: cannot read " + path);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    // Jenkins builds it with `sh "docker build ${additionalBuildArgs} ..."`: shell words.
    std::vector<std::string> build_args;
    if (StepStatus st = shell_words(field("additionalBuildArgs"), scope, build_args); !st.ok)
      return StepStatus::failure("additionalBuildArgs: " + st.message);
    // Tagged by what it is built from, as Jenkins tags it by the Dockerfile's hash; the
    // engine's layer cache makes a build of unchanged inputs a cache hit.
    image = "localhost/gantry-dockerfile:" +
            content_hash(content + '\0' + field("additionalBuildArgs") + '\0' + dir + '\0' + file);
    std::vector<std::string> build = {"build", "-t", image, "-f", path};
    if (engine.name == "podman")
      build.insert(build.end(), engine.run_flags.begin(), engine.run_flags.end());
    build.insert(build.end(), build_args.begin(), build_args.end());
    build.push_back(context_dir);
    log("Building " + image + " from " + path);
    StepStatus st = engine_command(build, scope);
    if (!st.ok) return st;
    if (std::get<int64_t>(st.value.data) != 0)
      return StepStatus::failure("the image from " + path + " did not build (see above)");
  } else {
    image = field("image");
    if (image.empty()) return StepStatus::failure("the docker agent has no image");
    std::string registry = field("registryUrl");
    if (!registry.empty() && !names_registry(image)) image = registry_host(registry) + "/" + image;
    pull = PullPolicy{field("alwaysPull") == "true", registry, field("registryCredentialsId")};
  }
  std::vector<std::string> flags = {"-t"};
  flags.insert(flags.end(), user_flags.begin(), user_flags.end());
  std::vector<std::string> extra;
  std::string error;
  if (!split_args(field("args"), effective_env(scope), extra, error))
    return StepStatus::failure("args: " + error);
  flags.insert(flags.end(), extra.begin(), extra.end());
  std::string name;
  log("Starting a container from " + image);
  if (StepStatus st = start_container(image, flags, {"cat"}, scope, name, pull, true); !st.ok)
    return st;
  scope.container = name;
  return StepStatus{};
}

void StepRunner::remove_containers() {
  if (!job_.container_engine || job_.started_containers.empty()) return;
  // Newest first, one at a time: a pod's sidecars hold the first container's network, and
  // the engine refuses to remove that one while they exist (even in one `rm`).
  std::vector<std::string> names(job_.started_containers.rbegin(), job_.started_containers.rend());
  for (const std::string& name : names) docker_remove(name);
  job_.started_containers.clear();
  job_.pod_containers.clear();
}

// ---- Docker Pipeline

std::string StepRunner::registry_image(const std::string& image) const {
  if (job_.registries.empty() || job_.registries.back().first.empty() || names_registry(image))
    return image;
  return registry_host(job_.registries.back().first) + "/" + image;
}

namespace {

StepStatus no_engine() {
  return StepStatus::failure(
      "docker: this agent has no container engine (run the stage on an agent with the label "
      "docker)");
}

// Docker Pipeline calls need an engine of their own: a pod's agent has none.
bool has_engine(const std::shared_ptr<const ContainerEngine>& engine) {
  return engine && engine->name != "kubernetes";
}

StepStatus engine_result(const StepStatus& st, const std::string& what) {
  if (!st.ok) return st;
  if (std::get<int64_t>(st.value.data) != 0)
    return StepStatus::failure(what + " failed (the engine's message is above)");
  return StepStatus{};
}

}  // namespace

StepStatus StepRunner::docker_start(const std::string& image_name, const std::string& args,
                                    const std::string& command, bool inside, const StepScope& scope,
                                    std::string& name) {
  if (!has_engine(job_.container_engine)) return no_engine();
  const std::string image = registry_image(image_name);
  const auto* reg = job_.registries.empty() ? nullptr : &job_.registries.back();
  PullPolicy pull{false, reg ? reg->first : "", reg ? reg->second : ""};
  std::vector<std::string> flags, cmd;
  if (inside) {
    // inside(args): tokenized by Jenkins, not given to a shell.
    std::string error;
    if (!split_args(args, effective_env(scope), flags, error))
      return StepStatus::failure("docker: " + error);
  } else {
    // withRun and run: Jenkins runs `sh "docker run -d ${args} ${image} ${command}"`.
    if (StepStatus st = shell_words(args, scope, flags); !st.ok) return st;
    if (StepStatus st = shell_words(command, scope, cmd); !st.ok) return st;
  }
  if (inside) {
    std::vector<std::string> user_flags = container_user_flags();
    user_flags.insert(user_flags.begin(), "-t");
    flags.insert(flags.begin(), user_flags.begin(), user_flags.end());
    cmd = {"cat"};
    log("docker.image('" + image + "').inside: starting a container");
  } else {
    log("docker.image('" + image + "').withRun: starting a container");
  }
  return start_container(image, flags, cmd, scope, name, pull, true);
}

void StepRunner::docker_remove(const std::string& name) {
  if (!job_.container_engine) return;
  // Removed here and now, even one started with --rm: `kill` and leaving the removal to the
  // engine raced with the containers that share its network (`--network container:ID`, still
  // being removed themselves), and the engine then kept the stopped container for good.
  const bool auto_removed = job_.auto_removed.erase(name) > 0;
  std::vector<std::string> args = {"rm", "-f", "-v"};
  if (job_.container_engine->name == "podman") args.insert(args.end(), {"-t", "0"});
  args.push_back(name);
  std::string out;
  if (run_engine_command(job_.container_engine->argv(args), out, std::chrono::seconds(120)) != 0 &&
      out.find("no such container") == std::string::npos &&
      out.find("No such container") == std::string::npos &&
      !(auto_removed && out.find("already in progress") != std::string::npos))
    log("WARNING: could not remove container " + name + ": " + out);
  std::erase(job_.started_containers, name);
}

StepStatus StepRunner::docker_port(const std::string& name, const std::string& port,
                                   const StepScope& scope, std::string& mapped) {
  if (!has_engine(job_.container_engine)) return no_engine();
  std::string out;
  StepStatus st = engine_command({"port", name, port}, scope, &out);
  if (!st.ok) return st;
  mapped = out.substr(0, out.find('\n'));
  return StepStatus{};
}

StepStatus StepRunner::docker_build(const std::string& image, const std::string& args,
                                    const StepScope& scope) {
  if (!has_engine(job_.container_engine)) return no_engine();
  std::vector<std::string> words;  // Jenkins: sh "docker build -t ${image} ${args}"
  if (StepStatus st = shell_words(args, scope, words); !st.ok) return st;
  std::vector<std::string> build = {"build", "-t", image};
  if (job_.container_engine->name == "podman")
    build.insert(build.end(), job_.container_engine->run_flags.begin(),
                 job_.container_engine->run_flags.end());
  build.insert(build.end(), words.begin(), words.end());
  log("docker.build('" + image + "')");
  StepScope here = scope;  // the build context is relative to the step's directory
  return engine_result(
      run_process(job_.container_engine->argv(build), here, nullptr, ProcessMode::Engine),
      "docker.build('" + image + "')");
}

StepStatus StepRunner::docker_pull(const std::string& image, const StepScope& scope) {
  if (!has_engine(job_.container_engine)) return no_engine();
  const auto* reg = job_.registries.empty() ? nullptr : &job_.registries.back();
  return pull_if_needed(registry_image(image), true, reg ? reg->first : "", reg ? reg->second : "",
                        scope);
}

StepStatus StepRunner::docker_tag(const std::string& image, const std::string& tag,
                                  const StepScope& scope) {
  if (!has_engine(job_.container_engine)) return no_engine();
  std::string target = registry_image(image);
  if (!tag.empty()) target = without_tag(target) + ":" + tag;
  if (target == image) return StepStatus{};
  return engine_result(engine_command({"tag", image, target}, scope), "docker tag " + target);
}

StepStatus StepRunner::docker_push(const std::string& image, const std::string& tag,
                                   const StepScope& scope) {
  if (!has_engine(job_.container_engine)) return no_engine();
  std::string target = registry_image(image);
  if (!tag.empty()) {
    if (StepStatus st = docker_tag(image, tag, scope); !st.ok) return st;
    target = without_tag(target) + ":" + tag;
  } else if (target != image) {
    if (StepStatus st = docker_tag(image, "", scope); !st.ok) return st;
  }
  const auto* reg = job_.registries.empty() ? nullptr : &job_.registries.back();
  log("Pushing " + target);
  return engine_result(
      logged_in_command({"push", target}, reg ? reg->first : "", reg ? reg->second : "", scope),
      "docker push " + target);
}

StepStatus StepRunner::container(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto name = args.string("name", 0);
  if (!args.ok()) return args.failure();
  if (!name) return StepStatus::failure("container: no name given");
  auto it = job_.pod_containers.find(*name);
  if (it == job_.pod_containers.end()) {
    if (job_.pod_containers.empty())
      return StepStatus::failure("container('" + *name +
                                 "') needs the stage's agent to be a kubernetes pod");
    std::string names;
    for (const auto& [n, _] : job_.pod_containers) names += (names.empty() ? "" : ", ") + n;
    return StepStatus::failure("container('" + *name +
                               "'): the pod has no such container (it has " + names + ")");
  }
  StepScope inner = scope;
  inner.container = it->second;
  return body(step, inner);
}

}  // namespace gantry::agent
