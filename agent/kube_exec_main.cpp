// `gantry-agent kube-exec`: how the agent of a pod (container_engine kubernetes) runs a step in
// another container of its pod, through the API server's exec (docs/containers.md, "The
// cluster path"). The step runner starts it as it would start `podman exec`:
//
//   gantry-agent kube-exec --container C --workdir DIR [--env NAME]... -- ARGV...
//
// The variables named by --env are taken from this process's environment and sent on stdin,
// where a small sh prelude in the container reads them, so their values (secrets among them)
// never appear in the exec URL, which API servers log. Output is relayed as it comes; the exit
// status is the command's. On SIGTERM or SIGINT (cancel, timeout) it runs a second exec that
// signals the processes carrying the job's cookie in that container, since closing the stream
// does not stop them, then exits.
//
// The API server, token, CA and namespace are the pod's service account's (the in-cluster
// defaults), or GANTRY_KUBE_API, GANTRY_KUBE_TOKEN_FILE, GANTRY_KUBE_CA_FILE and
// GANTRY_KUBE_NAMESPACE; the pod is GANTRY_KUBE_POD.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gantry/net/kube_exec.hpp"

namespace gantry::agent {

namespace {

constexpr const char* kServiceAccount = "/var/run/secrets/kubernetes.io/serviceaccount/";

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (char ch : s) {
    if (ch == '\'') {
      out += "'\\''";
    } else {
      out += ch;
    }
  }
  return out + "'";
}

bool valid_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  }
  return true;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

int kube_exec_main(const std::vector<std::string>& args) {
  std::string container, workdir;
  std::vector<std::string> names, argv;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      argv.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (i + 1 >= args.size()) {
      std::fprintf(stderr, "gantry-agent kube-exec: %s needs a value\n", a.c_str());
      return 125;
    }
    if (a == "--container") {
      container = args[++i];
    } else if (a == "--workdir") {
      workdir = args[++i];
    } else if (a == "--env") {
      names.push_back(args[++i]);
    } else {
      std::fprintf(stderr, "gantry-agent kube-exec: unknown option %s\n", a.c_str());
      return 125;
    }
  }
  if (container.empty() || argv.empty()) {
    std::fprintf(stderr,
                 "usage: gantry-agent kube-exec --container C [--workdir DIR] [--env NAME]... -- "
                 "ARGV...\n");
    return 125;
  }
  net::KubeExecRequest req;
  std::string host = env_or("KUBERNETES_SERVICE_HOST", "");
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  req.api = env_or(
      "GANTRY_KUBE_API",
      host.empty() ? "" : "https://" + host + ":" + env_or("KUBERNETES_SERVICE_PORT", "443"));
  req.token = first_line(env_or("GANTRY_KUBE_TOKEN_FILE", std::string(kServiceAccount) + "token"));
  req.tls.ca_file = env_or("GANTRY_KUBE_CA_FILE", "");
  if (req.tls.ca_file.empty() &&
      ::access((std::string(kServiceAccount) + "ca.crt").c_str(), R_OK) == 0)
    req.tls.ca_file = std::string(kServiceAccount) + "ca.crt";
  req.kube_namespace =
      env_or("GANTRY_KUBE_NAMESPACE", first_line(std::string(kServiceAccount) + "namespace"));
  req.pod = env_or("GANTRY_KUBE_POD", "");
  req.container = container;
  if (req.api.empty() || req.pod.empty() || req.kube_namespace.empty()) {
    std::fprintf(stderr,
                 "gantry-agent kube-exec: not in a pod (no API server, pod or namespace: "
                 "KUBERNETES_SERVICE_HOST, GANTRY_KUBE_POD, the service account's namespace)\n");
    return 125;
  }
  // The job's variables, read by the prelude up to a line that no value can forge (it carries
  // the job's cookie, which the values cannot contain as a whole line: it is ours).
  const std::string cookie = env_or("GANTRY_JOB_COOKIE", "gantry");
  const std::string end = "#gantry-env-end-" + cookie;
  std::string env_text;
  for (const std::string& name : names) {
    const char* value = std::getenv(name.c_str());
    if (!value || !valid_name(name)) continue;
    env_text += "export " + name + "=" + single_quoted(value) + "\n";
  }
  env_text += end + "\n";
  const std::string prelude =
      "s=''; while IFS= read -r l; do [ \"$l\" = " + single_quoted(end) +
      " ] && break; s=\"$s$l\n\"; done; eval \"$s\"; unset s l; cd \"$1\" || exit 1; shift; "
      "exec \"$@\"";
  req.command = {"sh", "-c", prelude, "gantry-step", workdir.empty() ? "." : workdir};
  req.command.insert(req.command.end(), argv.begin(), argv.end());
  req.stdin_data = env_text;

  // Cancel: a second exec stops the step's processes in the container (TERM, then KILL for
  // those still there after 5 s), then this process ends.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::thread stopper([req, stop, cookie] {
    int sig = 0;
    if (sigwait(&stop, &sig) != 0) return;
    net::KubeExecRequest kill = req;
    kill.stdin_data.clear();
    const std::string find =
        "pids() { for p in /proc/[0-9]*; do tr '\\000' '\\n' < \"$p/environ\" 2>/dev/null | "
        "grep -qx " +
        single_quoted("GANTRY_JOB_COOKIE=" + cookie) +
        " && echo \"${p#/proc/}\"; done; }; "
        "for p in $(pids); do kill -TERM \"$p\" 2>/dev/null; done; i=0; "
        "while [ $i -lt 50 ] && [ -n \"$(pids)\" ]; do sleep 0.1; i=$((i+1)); done; "
        "for p in $(pids); do kill -KILL \"$p\" 2>/dev/null; done";
    kill.command = {"sh", "-c", find};
    kill.timeout = std::chrono::seconds(10);
    (void)net::kube_exec(kill, [](int, std::string_view) {});
    std::_Exit(128 + sig);
  });
  stopper.detach();

  net::KubeExecResult r = net::kube_exec(
      req, [](int channel, std::string_view bytes) { write_all(channel == 2 ? 2 : 1, bytes); });
  if (!r.ok) {
    std::fprintf(stderr, "gantry-agent kube-exec: %s\n", r.error.c_str());
    return 125;
  }
  return r.exit_code < 0 || r.exit_code > 255 ? 125 : r.exit_code;
}

}  // namespace gantry::agent
