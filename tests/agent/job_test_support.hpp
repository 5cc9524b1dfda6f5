#pragma once
// Test support for the job runner: temp directories, an in-memory JobHost,
// and a one-call way to run a pipeline stage and read back its log.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runner/job_runner.hpp"
#include "runner/spool.hpp"

namespace gantry::testing {

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("gantry-job-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::remove_all(path_.string() + "@tmp", ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Keeps artifacts and stashes as bytes; records step events.
class MemoryHost : public agent::JobHost {
 public:
  bool upload_artifact(const std::string& rel, const std::string& abs, std::string&) override {
    artifacts[rel] = slurp(abs);
    return true;
  }
  bool upload_stash(const std::string& name, const std::string& tar, std::string&) override {
    stashes[name] = slurp(tar);
    return true;
  }
  bool download_stash(const std::string& name, const std::string& tar,
                      std::string& error) override {
    auto it = stashes.find(name);
    if (it == stashes.end()) {
      error = "no stash named '" + name + "'";
      return false;
    }
    std::ofstream(tar, std::ios::binary) << it->second;
    return true;
  }
  bool upload_tests(const std::string& report, std::string&) override {
    std::lock_guard lock(mu);
    test_reports.push_back(slurp(report));
    return true;
  }
  void step_event(const std::string& step, const std::string& state) override {
    std::lock_guard lock(mu);
    events.push_back(step + ":" + state);
  }
  // Answers `input` steps from `input_replies` in order (the last repeats).
  agent::InputReply ask_input(const agent::InputQuestion& q) override {
    std::lock_guard lock(mu);
    questions.push_back(q);
    if (input_replies.empty()) return {"error", "", "", "no controller in this test"};
    agent::InputReply r = input_replies.front();
    if (input_replies.size() > 1) input_replies.erase(input_replies.begin());
    return r;
  }
  bool fetch_samples(const std::string& url, std::vector<double>& out,
                     std::string& error) override {
    auto it = samples.find(url);
    if (it == samples.end()) {
      error = url + ": no such series in this test";
      return false;
    }
    out = it->second;
    return true;
  }
  // Answers notify steps from `notify_replies` in order (the last repeats); records each ask.
  protocol::NotifyReply notify(const protocol::Notify& m) override {
    std::lock_guard lock(mu);
    notices.push_back(m);
    if (notify_replies.empty()) return {"refused", "no controller in this test"};
    protocol::NotifyReply r = notify_replies.front();
    if (notify_replies.size() > 1) notify_replies.erase(notify_replies.begin());
    return r;
  }
  std::vector<protocol::NotifyReply> notify_replies;
  std::vector<protocol::Notify> notices;
  std::map<std::string, std::vector<double>> samples;  // by URL
  std::vector<agent::InputReply> input_replies;
  std::vector<agent::InputQuestion> questions;

  std::map<std::string, std::string> artifacts;
  std::map<std::string, std::string> stashes;
  std::vector<std::string> test_reports;  // each junit step's report, as uploaded
  std::mutex mu;
  std::vector<std::string> events;
};

inline protocol::JobSpec make_spec(std::string source, std::string stage_id) {
  protocol::JobSpec spec;
  spec.run_id = "r1";
  spec.run_number = 7;
  spec.job_name = "demo";
  spec.stage_name = stage_id;
  spec.stage_id = std::move(stage_id);
  spec.pipeline_source = std::move(source);
  spec.pipeline_format = "jenkinsfile";
  spec.cancel_grace_ms = 500;
  return spec;
}

// "pipeline { agent any; stages { stage('S') { steps { STEPS } post { POST } } } }"
inline std::string stage_pipeline(const std::string& steps, const std::string& post = "") {
  return "pipeline {\n  agent any\n  stages {\n    stage('S') {\n      steps {\n" + steps +
         "\n      }\n" + (post.empty() ? "" : "      post {\n" + post + "\n      }\n") +
         "    }\n  }\n}\n";
}

struct JobRun {
  agent::JobOutcome outcome;
  std::string log;
  std::chrono::milliseconds elapsed{0};
};

// Runs `spec` in `workspace` with a spool masking job_secrets(spec).
// `during` (optional) runs on another thread while the job does.
template <typename During>
JobRun run_job(const protocol::JobSpec& spec, const std::string& workspace, MemoryHost& host,
               During&& during) {
  TempDir spool_dir;
  std::string spool_path = (spool_dir.path() / "log").string();
  JobRun r;
  {
    agent::Spool spool(spool_path, uint64_t{1} << 30, agent::job_secrets(spec));
    agent::JobRunner runner(spec, workspace, spool, host);
    auto start = std::chrono::steady_clock::now();
    std::thread helper([&] { during(runner); });
    r.outcome = runner.run();
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    helper.join();
  }
  r.log = slurp(spool_path);
  return r;
}

inline JobRun run_job(const protocol::JobSpec& spec, const std::string& workspace,
                      MemoryHost& host) {
  return run_job(spec, workspace, host, [](agent::JobRunner&) {});
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace gantry::testing
