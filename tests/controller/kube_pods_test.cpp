// The cluster path of kubernetes agents without a cluster: the scheduler's pod requests
// (scheduler_pods.cpp) and the Pod objects and states the service sends and reads
// (service/kube_pods.cpp), in the shapes of the Kubernetes API (core/v1 Pod).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "scheduler_harness.hpp"
#include "service/kube_pods.hpp"

using namespace gantry::controller;
using gantry::RunStatus;
using json = nlohmann::json;
using testing::Harness;

namespace {

const char* kPodPipeline = R"(pipeline {
  agent none
  stages {
    stage('Build') {
      agent {
        kubernetes {
          yaml """
apiVersion: v1
kind: Pod
metadata:
  labels:
    team: web
spec:
  containers:
  - name: jnlp
    image: jenkins/inbound-agent
  - name: maven
    image: maven:3-eclipse-temurin-17
    command: ['cat']
    tty: true
    resources:
      limits: {memory: 2Gi, cpu: 1}
  - name: db
    image: postgres:16
    env:
    - name: POSTGRES_PASSWORD
      value: "1234"
"""
          defaultContainer 'maven'
        }
      }
      steps { sh 'mvn -v' }
    }
    stage('Plain') { agent any; steps { sh 'true' } }
  }
})";

SchedulerOptions with_cluster(int64_t max_pods = 20) {
  SchedulerOptions o;
  o.max_pods = max_pods;
  return o;
}

}  // namespace

TEST_CASE("a kubernetes stage asks for a pod of its own and only that pod's agent takes it") {
  Harness h(with_cluster());
  int64_t run = h.submit(kPodPipeline);
  Scheduler::PodChanges changes = h.s.take_pod_changes();
  REQUIRE(changes.create.size() == 1);
  const PodRequest req = changes.create[0];
  CHECK(req.pod.rfind("gantry-" + std::to_string(run) + "-", 0) == 0);
  CHECK(req.default_container == "maven");
  CHECK(req.yaml.find("postgres:16") != std::string::npos);
  CHECK(h.s.run(run)->stages[0].reason.find("waiting for pod " + req.pod) != std::string::npos);

  // Any agent with no label restriction does not take it; an agent of another pod neither.
  h.agent("plain");
  h.agent("gantry-999-1-1", {kPodAgentLabel});
  CHECK(h.assigns().empty());
  h.s.pod_progress(req.pod, "ContainerCreating");
  h.pump();
  CHECK(h.s.run(run)->stages[0].reason == "waiting for pod " + req.pod + ": ContainerCreating");

  // The pod's own agent, named after it.
  h.agent(req.pod, {kPodAgentLabel});
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].first == req.pod);
  CHECK(as[0].second.spec.stage_id == "Build");
  CHECK(h.s.take_pod_changes().remove.empty());  // still running there
  h.finish(req.pod, as[0].second, "SUCCESS");
  changes = h.s.take_pod_changes();
  REQUIRE(changes.remove.size() == 1);
  CHECK(changes.remove[0] == req.pod);
  // The next stage (agent any) never goes to a pod's agent, even its own.
  as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].first == "plain");
}

TEST_CASE("a pod the cluster cannot run fails its job with the cluster's words") {
  Harness h(with_cluster());
  int64_t run = h.submit(kPodPipeline);
  Scheduler::PodChanges changes = h.s.take_pod_changes();
  REQUIRE(changes.create.size() == 1);
  h.s.pod_failed(changes.create[0].pod, "maven: ErrImagePull: image not known", h.now);
  h.pump();
  CHECK(h.stage(run, "Build") == "failed");
  CHECK(h.s.run(run)->stages[0].reason.find("ErrImagePull: image not known") != std::string::npos);
  changes = h.s.take_pod_changes();
  CHECK(changes.create.empty());
  CHECK(changes.remove.size() == 1);  // what was made of it goes
}

TEST_CASE("max_pods bounds the pods at once and cancel deletes the pod") {
  Harness h(with_cluster(1));
  int64_t first = h.submit(kPodPipeline);
  int64_t second = h.submit(kPodPipeline);
  Scheduler::PodChanges changes = h.s.take_pod_changes();
  REQUIRE(changes.create.size() == 1);
  CHECK(h.s.run(second)->stages[0].reason.find("kubernetes.max_pods") != std::string::npos);
  h.s.cancel_run(first, "cancelled by test", h.now);
  h.pump();
  changes = h.s.take_pod_changes();
  CHECK(changes.remove.size() == 1);
  h.pump();
  changes = h.s.take_pod_changes();
  REQUIRE(changes.create.size() == 1);  // the second run's turn
  CHECK(changes.create[0].run_id == second);
}

TEST_CASE("without a cluster a kubernetes stage needs an agent with a container engine") {
  Harness h;
  h.submit(kPodPipeline);
  CHECK(h.s.take_pod_changes().create.empty());
  h.agent("boxed", {"docker"});
  auto as = h.assigns();
  REQUIRE(as.size() == 1);
  CHECK(as[0].first == "boxed");
}

TEST_CASE("the Pod sent to the API server: the stage's spec, the agent container, the workspace") {
  KubernetesConfig k;
  k.api = "https://10.0.0.1:6443";
  k.kube_namespace = "ci";
  k.agent_image = "registry.example.com/gantry-agent:1";
  k.agent_token_secret = "agent-token";
  k.work_dir = "/home/gantry/agent";
  PodRequest r;
  r.pod = "gantry-7-2-1";
  r.run_id = 7;
  r.stage_id = "Build & Test";
  r.yaml = R"(apiVersion: v1
kind: Pod
metadata:
  labels: {team: web}
spec:
  containers:
  - name: jnlp
    image: jenkins/inbound-agent
  - name: maven
    image: maven:3
    tty: true
    securityContext: {runAsUser: 1000}
  - name: db
    image: "postgres:16"
    ports: [{containerPort: 5432}]
    env: [{name: PORT, value: "5432"}]
)";
  std::string error;
  std::string body = pod_manifest(r, k, "https://gantry.ci.svc:8080", error);
  INFO(error);
  REQUIRE(!body.empty());
  json pod = json::parse(body);
  CHECK(pod["apiVersion"] == "v1");
  CHECK(pod["kind"] == "Pod");
  CHECK(pod["metadata"]["name"] == "gantry-7-2-1");
  CHECK(pod["metadata"]["namespace"] == "ci");
  CHECK(pod["metadata"]["labels"]["team"] == "web");
  CHECK(pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "gantry");
  CHECK(pod["metadata"]["labels"]["gantry.stage"] == "Build---Test");
  CHECK(pod["spec"]["restartPolicy"] == "Never");
  const json& cs = pod["spec"]["containers"];
  REQUIRE(cs.size() == 3);  // jnlp out, gantry-agent in
  CHECK(cs[0]["name"] == "maven");
  CHECK(cs[0]["tty"] == true);                           // typed as YAML says
  CHECK(cs[0]["securityContext"]["runAsUser"] == 1000);  // a number
  CHECK(cs[1]["env"][0]["value"] == "5432");             // quoted: a string
  CHECK(cs[1]["ports"][0]["containerPort"] == 5432);
  for (const json& c : cs) {
    bool mounted = false;
    for (const json& m : c["volumeMounts"])
      mounted = mounted || (m["name"] == "gantry-workspace" &&
                            m["mountPath"] == "/home/gantry/agent/workspace");
    CHECK(mounted);
  }
  const json& agent = cs[2];
  CHECK(agent["name"] == "gantry-agent");
  CHECK(agent["image"] == "registry.example.com/gantry-agent:1");
  std::string args = agent["args"].dump();
  CHECK(args.find("\"--controller\",\"https://gantry.ci.svc:8080\"") != std::string::npos);
  CHECK(args.find("\"--name\",\"gantry-7-2-1\"") != std::string::npos);
  CHECK(args.find("\"--container-engine\",\"kubernetes\"") != std::string::npos);
  std::string env = agent["env"].dump();
  CHECK(env.find("\"secretKeyRef\":{\"key\":\"token\",\"name\":\"agent-token\"}") !=
        std::string::npos);
  CHECK(env.find("\"GANTRY_KUBE_CONTAINERS\"},{") == std::string::npos);
  CHECK(env.find("maven,db") != std::string::npos);
  bool volume = false;
  for (const json& v : pod["spec"]["volumes"])
    volume = volume || (v["name"] == "gantry-workspace" && v.contains("emptyDir"));
  CHECK(volume);
}

TEST_CASE("a spec that is no pod is refused before anything is sent") {
  KubernetesConfig k;
  k.agent_image = "gantry-agent:1";
  PodRequest r;
  r.pod = "gantry-1-1-1";
  std::string error;
  r.yaml = "kind: Deployment\nspec: {containers: [{name: a, image: b}]}\n";
  CHECK(pod_manifest(r, k, "http://c", error).empty());
  CHECK(error.find("not a Pod") != std::string::npos);
  r.yaml = "spec: {containers: [{name: jnlp, image: jenkins/inbound-agent}]}\n";
  CHECK(pod_manifest(r, k, "http://c", error).empty());
  CHECK(error.find("only jnlp") != std::string::npos);
  r.yaml = "spec: {containers: [{name: a, image: b}]}\n";
  r.default_container = "nope";
  CHECK(pod_manifest(r, k, "http://c", error).empty());
  CHECK(error.find("defaultContainer 'nope'") != std::string::npos);
  r.yaml = "spec: [unclosed\n";
  CHECK(pod_manifest(r, k, "http://c", error).empty());
  CHECK(error.find("not YAML") != std::string::npos);
}

TEST_CASE("a pod's state: running, pulling, failing to pull, unschedulable") {
  CHECK(pod_state(R"({"status":{"phase":"Running"}})").running);
  PodState s = pod_state(
      R"({"status":{"phase":"Pending","containerStatuses":[{"name":"maven","state":{"waiting":{"reason":"ContainerCreating"}}}]}})");
  CHECK(!s.running);
  CHECK(!s.failed);
  CHECK(s.text == "maven: ContainerCreating");
  s = pod_state(
      R"({"status":{"phase":"Pending","containerStatuses":[{"name":"db","state":{"waiting":{"reason":"ImagePullBackOff","message":"Back-off pulling image \"postgres:99\""}}}]}})");
  CHECK(s.failed);
  CHECK(s.text == "db: ImagePullBackOff: Back-off pulling image \"postgres:99\"");
  s = pod_state(
      R"({"status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/3 nodes are available: 3 Insufficient memory."}]}})");
  CHECK(!s.failed);
  CHECK(s.text == "Pending: 0/3 nodes are available: 3 Insufficient memory.");
  s = pod_state(R"({"status":{"phase":"Failed"}})");
  CHECK(s.failed);
  CHECK(pod_state("not json").text == "no status yet");
}
