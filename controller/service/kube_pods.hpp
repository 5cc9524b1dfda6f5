#pragma once
// KubePods: the cluster path of kubernetes agents (docs/containers.md). With `kubernetes:` in
// the config, the scheduler asks for a pod per job of a kubernetes agent (scheduler_pods.cpp);
// this creates it through the API server (POST .../pods), watches it until it runs (its
// progress and failures go back to the scheduler: an image that cannot be pulled fails the job
// with the cluster's words), and deletes it when the job is gone. At start it deletes the pods
// of a previous controller that no job holds any more.
//
// The pod is the stage's `yaml` with, added: the agent container (`agent_image`, running
// gantry-agent under the pod's name, its token from a Secret), a workspace volume every
// container mounts at the agent's workspace path, `restartPolicy: Never`, and Gantry's labels.
// A container named `jnlp` (Jenkins' agent) is left out: gantry-agent takes its place.
//
// Threading: handle() and start() on the loop thread; one worker thread does the HTTP calls
// (net::http_request blocks) and posts results back to the loop. The destructor joins.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config.hpp"
#include "gantry/net/event_loop.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

class Engine;

// The Pod object (JSON) for `request`, or "" with `error` (a spec that is no pod).
// `controller_url`: where the pod's agent connects.
std::string pod_manifest(const PodRequest& request, const KubernetesConfig& config,
                         const std::string& controller_url, std::string& error);

// "Pending: ContainerCreating", or a failure ("build: ErrImagePull: ..."), from a Pod's JSON.
struct PodState {
  bool running = false;
  bool failed = false;
  std::string text;
};
PodState pod_state(const std::string& pod_json);

class KubePods {
 public:
  KubePods(KubernetesConfig config, std::string controller_url, net::EventLoop& loop,
           Engine& engine);
  ~KubePods();
  KubePods(const KubePods&) = delete;
  KubePods& operator=(const KubePods&) = delete;

  // After recovery: the pods of a previous controller are adopted by their jobs (still on the
  // board, same attempt) or deleted.
  void start();
  void handle(const Scheduler::PodChanges& changes);
  // Called every few seconds on the loop: watches pods not running yet.
  void poll();

 private:
  struct Task {
    enum class Kind { Create, Delete, Check, Sweep } kind;
    std::string pod;
    std::string body;  // Create: the manifest
  };
  void enqueue(Task task);
  void run();
  void perform(const Task& task);
  // The scheduler hears of it on the loop thread.
  void report_failure(const std::string& pod, const std::string& reason);
  void report_progress(const std::string& pod, const std::string& status);

  KubernetesConfig config_;
  std::string controller_url_;
  net::EventLoop& loop_;
  Engine& engine_;
  std::string token_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
  // Pods created and not running yet (worker thread only): when each must run by.
  std::map<std::string, int64_t> starting_;
  std::thread worker_;
};

}  // namespace gantry::controller
