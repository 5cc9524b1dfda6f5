#include "service/kube_pods.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "gantry/common/log.hpp"
#include "gantry/net/http_client.hpp"
#include "service/engine.hpp"

namespace gantry::controller {

namespace {

using json = nlohmann::json;

constexpr int kMaxYamlDepth = 64;
constexpr size_t kMaxPodSpec = size_t{1} << 20;
constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
constexpr const char* kWorkspaceVolume = "gantry-workspace";
constexpr const char* kAgentContainer = "gantry-agent";

// YAML as Kubernetes reads it: unquoted true/false, numbers and null are typed; quoted
// scalars stay strings.
bool to_json(const YAML::Node& node, json& out, int depth, std::string& error) {
  if (depth > kMaxYamlDepth) {
    error = "the pod spec nests too deeply";
    return false;
  }
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      out = nullptr;
      return true;
    case YAML::NodeType::Sequence:
      out = json::array();
      for (const auto& item : node) {
        json v;
        if (!to_json(item, v, depth + 1, error)) return false;
        out.push_back(std::move(v));
      }
      return true;
    case YAML::NodeType::Map:
      out = json::object();
      for (const auto& kv : node) {
        json v;
        if (!to_json(kv.second, v, depth + 1, error)) return false;
        out[kv.first.as<std::string>()] = std::move(v);
      }
      return true;
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") {  // quoted
    out = text;
    return true;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    out = true;
  } else if (text == "false" || text == "False" || text == "FALSE") {
    out = false;
  } else if (text == "null" || text == "~" || text.empty()) {
    out = text.empty() ? json(text) : json(nullptr);
  } else {
    size_t used = 0;
    bool integer = !text.empty() && text.find_first_not_of("-+0123456789") == std::string::npos;
    try {
      if (integer) {
        long long v = std::stoll(text, &used);
        if (used == text.size()) {
          out = v;
          return true;
        }
      }
    } catch (const std::exception&) {
    }
    out = text;
  }
  return true;
}

std::string status_message(const net::ClientResponse& r) {
  if (!r.ok) return r.error;
  std::string message;
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("message") && body["message"].is_string())
    message = body["message"].get<std::string>();
  if (message.empty()) message = r.body.substr(0, 200);
  return "HTTP " + std::to_string(r.status) + (message.empty() ? "" : ": " + message);
}

// A member of an object, or null when `j` is no object or lacks it (operator[] on a const
// json must not be asked for a missing key).
const json& member(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string label_value(std::string s) {
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      ch = '-';
  }
  return s.substr(0, 63);
}

}  // namespace

std::string pod_manifest(const PodRequest& request, const KubernetesConfig& config,
                         const std::string& controller_url, std::string& error) {
  if (request.yaml.size() > kMaxPodSpec) {
    error = "the pod spec is larger than 1 MiB";
    return "";
  }
  json pod;
  try {
    YAML::Node doc = YAML::Load(request.yaml);
    if (!to_json(doc, pod, 0, error)) return "";
  } catch (const YAML::Exception& e) {
    error = "the pod spec is not YAML: " + std::string(e.what());
    return "";
  }
  if (!pod.is_object() || !pod.contains("spec") || !pod["spec"].is_object()) {
    error = "the pod spec has no 'spec' (give a Pod: apiVersion, kind, spec.containers)";
    return "";
  }
  if (pod.contains("kind") && pod["kind"] != "Pod") {
    error = "the pod spec is a " + pod["kind"].dump() + ", not a Pod";
    return "";
  }
  json& spec = pod["spec"];
  if (!spec.contains("containers") || !spec["containers"].is_array()) {
    error = "the pod spec has no containers";
    return "";
  }
  pod["apiVersion"] = "v1";
  pod["kind"] = "Pod";
  json& meta = pod["metadata"];
  if (!meta.is_object()) meta = json::object();
  meta["name"] = request.pod;
  meta["namespace"] = config.kube_namespace;
  meta.erase("generateName");
  if (!meta["labels"].is_object()) meta["labels"] = json::object();
  meta["labels"][kManagedBy] = "gantry";
  meta["labels"]["gantry.run"] = std::to_string(request.run_id);
  meta["labels"]["gantry.stage"] = label_value(request.stage_id);
  spec["restartPolicy"] = "Never";
  const std::string workspace = config.work_dir + "/workspace";
  const json mount = {{"name", kWorkspaceVolume}, {"mountPath", workspace}};
  json containers = json::array();
  std::string names, first;
  for (json& c : spec["containers"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) {
      error = "a container of the pod spec has no name";
      return "";
    }
    const std::string name = c["name"].get<std::string>();
    if (name == "jnlp") continue;  // Jenkins' agent: gantry-agent takes its place
    if (name == kAgentContainer) {
      error = "the container name gantry-agent is Gantry's own";
      return "";
    }
    if (!c["volumeMounts"].is_array()) c["volumeMounts"] = json::array();
    c["volumeMounts"].push_back(mount);
    if (first.empty()) first = name;
    names += (names.empty() ? "" : ",") + name;
    containers.push_back(std::move(c));
  }
  if (containers.empty()) {
    error = "the pod spec has no container to run steps in (only jnlp)";
    return "";
  }
  std::string default_container =
      request.default_container.empty() ? first : request.default_container;
  if (("," + names + ",").find("," + default_container + ",") == std::string::npos) {
    error = "defaultContainer '" + default_container + "' is not a container of the pod (" + names +
            ")";
    return "";
  }
  json agent = {
      {"name", kAgentContainer},
      {"image", config.agent_image},
      {"command", json::array({"gantry-agent"})},
      {"args", json::array({"--controller", controller_url, "--name", request.pod, "--labels",
                            kPodAgentLabel, "--executors", "1", "--work", config.work_dir,
                            "--container-engine", "kubernetes"})},
      {"env", json::array({
                  {{"name", "GANTRY_AGENT_TOKEN"},
                   {"valueFrom",
                    {{"secretKeyRef", {{"name", config.agent_token_secret}, {"key", "token"}}}}}},
                  {{"name", "GANTRY_KUBE_POD"}, {"value", request.pod}},
                  {{"name", "GANTRY_KUBE_NAMESPACE"}, {"value", config.kube_namespace}},
                  {{"name", "GANTRY_KUBE_CONTAINERS"}, {"value", names}},
                  {{"name", "GANTRY_KUBE_DEFAULT_CONTAINER"}, {"value", default_container}},
              })},
      {"volumeMounts", json::array({mount})},
  };
  containers.push_back(std::move(agent));
  spec["containers"] = std::move(containers);
  if (!spec["volumes"].is_array()) spec["volumes"] = json::array();
  spec["volumes"].push_back({{"name", kWorkspaceVolume}, {"emptyDir", json::object()}});
  return pod.dump();
}

PodState pod_state(const std::string& pod_json) {
  PodState state;
  json pod = json::parse(pod_json, nullptr, false);
  if (!member(pod, "status").is_object()) {
    state.text = "no status yet";
    return state;
  }
  const json& status = member(pod, "status");
  const std::string phase = status.value("phase", std::string("Pending"));
  if (phase == "Running") {
    state.running = true;
    state.text = "Running";
    return state;
  }
  if (phase == "Failed" || phase == "Succeeded") {
    state.failed = true;
    state.text = "the pod ended (" + phase + ")";
  } else {
    state.text = phase;
  }
  // Why a container does not run yet; the pulls and config errors that will not mend by
  // themselves fail the job at once.
  if (member(status, "containerStatuses").is_array()) {
    for (const json& c : member(status, "containerStatuses")) {
      const json& s = member(c, "state");
      if (!s.is_object()) continue;
      const json* detail = nullptr;
      if (member(s, "waiting").is_object()) detail = &member(s, "waiting");
      if (member(s, "terminated").is_object() && state.failed) detail = &member(s, "terminated");
      if (!detail) continue;
      const std::string reason = detail->value("reason", std::string());
      const std::string message = detail->value("message", std::string());
      if (reason.empty() && message.empty()) continue;
      state.text = c.value("name", std::string("?")) + ": " + reason +
                   (message.empty() ? "" : ": " + message.substr(0, 500));
      if (reason == "ErrImagePull" || reason == "ImagePullBackOff" ||
          reason == "InvalidImageName" || reason == "CreateContainerConfigError" ||
          reason == "CreateContainerError" || reason == "ErrImageNeverPull")
        state.failed = true;
      return state;
    }
  }
  if (member(status, "conditions").is_array()) {
    for (const json& c : member(status, "conditions")) {
      if (member(c, "status") == "False" && member(c, "message").is_string()) {
        state.text = phase + ": " + member(c, "message").get<std::string>().substr(0, 500);
        break;
      }
    }
  }
  return state;
}

KubePods::KubePods(KubernetesConfig config, std::string controller_url, net::EventLoop& loop,
                   Engine& engine)
    : config_(std::move(config)),
      controller_url_(std::move(controller_url)),
      loop_(loop),
      engine_(engine) {
  worker_ = std::thread([this] { run(); });
}

KubePods::~KubePods() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void KubePods::enqueue(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.size() >= 10000) {
      log::error("kubernetes", "queue.full", {{"dropped", task.pod}});
      return;
    }
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void KubePods::start() {
  enqueue(Task{Task::Kind::Sweep, "", ""});
}

void KubePods::handle(const Scheduler::PodChanges& changes) {
  for (const PodRequest& r : changes.create) {
    std::string error;
    std::string body = pod_manifest(r, config_, controller_url_, error);
    if (body.empty()) {
      // Not the cluster's fault: the stage's spec. Said on the stage, nothing created.
      report_failure(r.pod, error);
      continue;
    }
    enqueue(Task{Task::Kind::Create, r.pod, std::move(body)});
  }
  for (const std::string& pod : changes.remove) enqueue(Task{Task::Kind::Delete, pod, ""});
}

void KubePods::poll() {
  enqueue(Task{Task::Kind::Check, "", ""});
}

void KubePods::run() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    perform(task);
  }
}

void KubePods::perform(const Task& task) {
  net::ClientRequest req;
  std::string token, error;
  {
    std::ifstream in(config_.token_file);
    std::getline(in, token);
  }
  req.bearer_token = token;
  req.tls.ca_file = config_.ca_file;
  req.timeout = std::chrono::seconds(30);
  req.max_body = size_t{16} << 20;
  const std::string pods = config_.api + "/api/v1/namespaces/" + config_.kube_namespace + "/pods";
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  switch (task.kind) {
    case Task::Kind::Create: {
      req.method = "POST";
      req.url = pods;
      req.body = task.body;
      net::ClientResponse r = net::http_request(req);
      if (r.ok && (r.status == 200 || r.status == 201 || r.status == 202 || r.status == 409)) {
        // 409: it exists (asked again after a restart): watch it all the same.
        log::info("kubernetes", "pod.created", {{"pod", task.pod}});
        starting_[task.pod] = now + config_.start_timeout_ms;
        report_progress(task.pod, "created, not running yet");
        return;
      }
      log::warn("kubernetes", "pod.refused", {{"pod", task.pod}, {"error", status_message(r)}});
      report_failure(task.pod, "the cluster did not create it: " + status_message(r));
      return;
    }
    case Task::Kind::Delete: {
      starting_.erase(task.pod);
      req.method = "DELETE";
      req.url = pods + "/" + task.pod + "?gracePeriodSeconds=0";
      net::ClientResponse r = net::http_request(req);
      if (r.ok && (r.status == 200 || r.status == 202 || r.status == 404)) {
        log::info("kubernetes", "pod.deleted", {{"pod", task.pod}});
      } else {
        // The sweep at the next start deletes it; said now so an admin can look.
        log::warn("kubernetes", "pod.delete_failed",
                  {{"pod", task.pod}, {"error", status_message(r)}});
      }
      return;
    }
    case Task::Kind::Check: {
      for (auto it = starting_.begin(); it != starting_.end();) {
        const std::string pod = it->first;
        req.method = "GET";
        req.url = pods;
        req.url += "/" + pod;
        net::ClientResponse r = net::http_request(req);
        PodState state;
        if (r.ok && r.status == 200) {
          state = pod_state(r.body);
        } else if (r.ok && r.status == 404) {
          state.failed = true;
          state.text = "the pod is gone from the cluster";
        } else {
          state.text = "cannot read its status: " + status_message(r);
        }
        if (!state.failed && !state.running && now > it->second) {
          state.failed = true;
          state.text = "not running after " + std::to_string(config_.start_timeout_ms / 1000) +
                       "s (kubernetes.start_timeout): " + state.text;
        }
        if (state.running) {
          report_progress(pod, "running, its agent connecting");
          it = starting_.erase(it);
        } else if (state.failed) {
          report_failure(pod, state.text);
          it = starting_.erase(it);
        } else {
          report_progress(pod, state.text);
          ++it;
        }
      }
      return;
    }
    case Task::Kind::Sweep: {
      req.method = "GET";
      req.url = pods + "?labelSelector=" + std::string(kManagedBy) + "%3Dgantry";
      net::ClientResponse r = net::http_request(req);
      if (!r.ok || r.status != 200) {
        log::warn("kubernetes", "pods.list_failed", {{"error", status_message(r)}});
        return;
      }
      json list = json::parse(r.body, nullptr, false);
      if (!member(list, "items").is_array()) return;
      std::vector<std::string> names;
      for (const json& item : member(list, "items")) {
        const json& meta = member(item, "metadata");
        if (!meta.is_object()) continue;
        std::string name = member(meta, "name").is_string() ? meta["name"].get<std::string>() : "";
        if (!name.empty()) names.push_back(std::move(name));
      }
      // A pod whose job is still on the board (running before the restart) is that job's
      // again; the rest are left over.
      loop_.post([this, names] {
        for (const std::string& name : names) {
          if (engine_.scheduler().adopt_pod(name)) {
            log::info("kubernetes", "pod.adopted", {{"pod", name}});
          } else {
            log::info("kubernetes", "pod.leftover", {{"pod", name}});
            enqueue(Task{Task::Kind::Delete, name, ""});
          }
        }
      });
      return;
    }
  }
}

void KubePods::report_failure(const std::string& pod, const std::string& reason) {
  loop_.post([this, pod, reason] {
    engine_.scheduler().pod_failed(pod, reason, engine_.now());
    (void)engine_.flush();
  });
  // No delete here: the job's end makes the scheduler list the pod for removal
  // (take_pod_changes), and a job already gone had it listed then.
}

void KubePods::report_progress(const std::string& pod, const std::string& status) {
  loop_.post([this, pod, status] {
    engine_.scheduler().pod_progress(pod, status);
    (void)engine_.flush();
  });
}

}  // namespace gantry::controller
