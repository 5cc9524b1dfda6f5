// The `kubernetes:` section of the controller config (docs/containers.md): the cluster a
// kubernetes agent's pod is created in, one per job.
#include <unistd.h>

#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

// A DNS-1123 label, as Kubernetes names namespaces and Secrets.
bool dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char ch : s) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
  }
  return true;
}

bool http_url(const std::string& s) {
  return s.starts_with("https://") || s.starts_with("http://");
}

}  // namespace

bool read_kubernetes(Reader& r, const Field& f, Config& c) {
  Fields fs;
  if (!r.fields(f.value, "'kubernetes'",
                {"api", "namespace", "token_file", "ca_file", "agent_image", "agent_token_secret",
                 "controller_url", "work_dir", "start_timeout", "max_pods"},
                fs)) {
    return false;
  }
  KubernetesConfig& k = c.kubernetes;
  const Field* x = nullptr;
  if (!(x = fs.find("api"))) return r.fail(f, "'kubernetes' needs 'api' (the API server's URL)");
  if (!r.string(*x, k.api)) return false;
  while (!k.api.empty() && k.api.back() == '/') k.api.pop_back();
  if (!http_url(k.api)) return r.fail(*x, "'api' must start with https:// (or http://)");
  if ((x = fs.find("namespace"))) {
    if (!r.string(*x, k.kube_namespace)) return false;
    if (!dns_label(k.kube_namespace))
      return r.fail(*x, "'namespace' must be a DNS label (lowercase letters, digits, '-')");
  }
  if ((x = fs.find("token_file")) && !r.string(*x, k.token_file)) return false;
  if ((x = fs.find("ca_file")) && !r.string(*x, k.ca_file)) return false;
  if (k.ca_file.empty() && k.api.starts_with("https://")) {
    const std::string sa = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
    if (::access(sa.c_str(), R_OK) == 0) k.ca_file = sa;
  }
  if (!(x = fs.find("agent_image")))
    return r.fail(f, "'kubernetes' needs 'agent_image' (an image with gantry-agent)");
  if (!r.string(*x, k.agent_image)) return false;
  if ((x = fs.find("agent_token_secret"))) {
    if (!r.string(*x, k.agent_token_secret)) return false;
    if (!dns_label(k.agent_token_secret))
      return r.fail(*x, "'agent_token_secret' must name a Secret (a DNS label)");
  }
  if ((x = fs.find("controller_url"))) {
    if (!r.string(*x, k.controller_url)) return false;
    while (!k.controller_url.empty() && k.controller_url.back() == '/') k.controller_url.pop_back();
    if (!http_url(k.controller_url))
      return r.fail(*x, "'controller_url' must start with https:// or http://");
  }
  if ((x = fs.find("work_dir"))) {
    if (!r.string(*x, k.work_dir)) return false;
    while (k.work_dir.size() > 1 && k.work_dir.back() == '/') k.work_dir.pop_back();
    if (k.work_dir.empty() || k.work_dir.front() != '/' || k.work_dir == "/")
      return r.fail(*x, "'work_dir' must be an absolute path other than /");
  }
  if ((x = fs.find("start_timeout"))) {
    if (!r.duration(*x, k.start_timeout_ms)) return false;
    if (k.start_timeout_ms <= 0) return r.fail(*x, "'start_timeout' must be more than 0");
  }
  if ((x = fs.find("max_pods"))) {
    std::string text;
    if (!r.string(*x, text)) return false;
    char* end = nullptr;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || n < 1 || n > 100000)
      return r.fail(*x, "'max_pods' must be a whole number from 1 to 100000");
    k.max_pods = n;
  }
  return true;
}

}  // namespace gantry::controller::config_detail
