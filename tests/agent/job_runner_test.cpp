// The job runner end to end: real /bin/sh processes in temp workspaces, an
// in-memory host. Results, reasons, post blocks, cancel and timeouts.
#include "runner/job_runner.hpp"

#include <catch2/catch.hpp>

#include "job_test_support.hpp"

using namespace gantry::testing;
using namespace std::chrono_literals;

TEST_CASE("a failing sh fails the stage and runs post failure, not success", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("sh 'echo building'\nsh 'exit 3'\necho 'never'",
                                       "failure { echo 'post-failure' }\n"
                                       "success { echo 'post-success' }\n"
                                       "always { echo 'post-always' }"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "FAILURE");
  CHECK(r.outcome.stage_result == "FAILURE");
  CHECK(r.outcome.reason == "script returned exit code 3");
  CHECK(contains(r.log, "[gantry] + echo building\nbuilding\n"));
  CHECK(contains(r.log, "[gantry] + exit 3\n[gantry] ERROR: script returned exit code 3\n"));
  CHECK_FALSE(contains(r.log, "never"));
  CHECK(contains(r.log, "post-failure"));
  CHECK(contains(r.log, "post-always"));
  CHECK_FALSE(contains(r.log, "post-success"));
  // always runs before failure, as in Jenkins.
  CHECK(r.log.find("post-always") < r.log.find("post-failure"));
  CHECK(host.events == std::vector<std::string>{"sh:started", "sh:succeeded", "sh:started",
                                                "sh:failed", "echo:started", "echo:succeeded",
                                                "echo:started", "echo:succeeded"});
}

TEST_CASE("a passing stage is SUCCESS and runs post success", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec =
      make_spec(stage_pipeline("sh 'echo \"ws=$WORKSPACE stage=$STAGE_NAME b=$BUILD_ID s=$TOKEN\"'",
                               "success { echo 'post-success' }\nunsuccessful { echo 'post-bad' }"),
                "S");
  spec.env["BUILD_ID"] = "42";
  spec.secrets["TOKEN"] = "very-secret-token";
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(r.outcome.reason.empty());
  CHECK(contains(r.log, "ws=" + ws.str() + " stage=S b=42 s=****\n"));
  CHECK(contains(r.log, "post-success"));
  CHECK_FALSE(contains(r.log, "post-bad"));
}

TEST_CASE("retry re-runs its body until it succeeds", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"(retry(3) {
          sh 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; test $n -ge 3'
        })"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(slurp(ws.path() / "count") == "3\n");
  CHECK(contains(r.log, "[gantry] Retrying (attempt 2 of 3)"));
  CHECK(contains(r.log, "[gantry] Retrying (attempt 3 of 3)"));

  auto twice = make_spec(stage_pipeline("retry(2) { sh 'echo try; exit 1' }"), "S");
  JobRun failed = run_job(twice, ws.str(), host);
  CHECK(failed.outcome.result == "FAILURE");
  CHECK(failed.outcome.reason == "script returned exit code 1");
}

TEST_CASE("a timeout step kills its body and aborts the stage", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("timeout(time: 1, unit: 'SECONDS') { sh 'sleep 30' }\n"
                                       "echo 'after'",
                                       "aborted { echo 'post-aborted' }"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "ABORTED");
  CHECK(r.outcome.reason == "timeout after 1s");
  CHECK(r.elapsed < 5s);
  CHECK(contains(r.log, "[gantry] Aborted: timeout after 1s"));
  CHECK_FALSE(contains(r.log, "after\n"));
  CHECK(contains(r.log, "post-aborted"));
}

TEST_CASE("a caught timeout lets the stage go on", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("catchError(buildResult: 'UNSTABLE', stageResult: "
                                       "'UNSTABLE') {\n"
                                       "  timeout(time: 300, unit: 'MILLISECONDS') { sleep 30 }\n"
                                       "}\necho 'after'"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "UNSTABLE");
  CHECK(r.outcome.reason == "timeout after 0.3s");
  CHECK(contains(r.log, "after\n"));
  CHECK(r.elapsed < 5s);
}

TEST_CASE("cancel from another thread stops sh and runs post aborted", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("sh 'echo started; sleep 30'\necho 'next'",
                                       "aborted { echo 'post-aborted' }\n"
                                       "success { echo 'post-success' }\n"
                                       "cleanup { echo 'post-cleanup' }"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host, [](gantry::agent::JobRunner& runner) {
    std::this_thread::sleep_for(500ms);
    runner.cancel("cancelled by alice", 500ms);
  });
  CHECK(r.outcome.result == "ABORTED");
  CHECK(r.outcome.reason == "cancelled by alice");
  CHECK(r.elapsed < 3s);  // 0.5 s in, then at most grace + 1 s
  CHECK(contains(r.log, "started\n"));
  CHECK(contains(r.log, "[gantry] Aborted: cancelled by alice\n"));
  CHECK_FALSE(contains(r.log, "next\n"));
  CHECK(contains(r.log, "post-aborted"));
  CHECK(contains(r.log, "post-cleanup"));
  CHECK_FALSE(contains(r.log, "post-success"));
}

TEST_CASE("cancel interrupts a sleep step", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("sleep 30"), "S");
  JobRun r = run_job(spec, ws.str(), host, [](gantry::agent::JobRunner& runner) {
    std::this_thread::sleep_for(200ms);
    runner.cancel("stop", 5s);
  });
  CHECK(r.outcome.result == "ABORTED");
  CHECK(r.elapsed < 2s);
}

TEST_CASE("a fenced job kills everything and runs no post", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(
      stage_pipeline("sh 'trap \"\" TERM; sleep 30'", "always { echo 'post-always' }"), "S");
  JobRun r = run_job(spec, ws.str(), host, [](gantry::agent::JobRunner& runner) {
    std::this_thread::sleep_for(300ms);
    runner.cancel("ignored", 10s, true);
  });
  CHECK(r.outcome.result == "ABORTED");
  CHECK(r.outcome.reason == "fenced: lease lost");
  CHECK(r.elapsed < 3s);  // no 10 s grace for a fence, even when TERM is ignored
  CHECK_FALSE(contains(r.log, "post-always"));
}

TEST_CASE("the job timeout aborts the steps but not the post blocks", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec =
      make_spec(stage_pipeline("sh 'sleep 30'", "aborted { sh 'sleep 1; echo post-ok' }"), "S");
  spec.timeout_ms = 500;
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "ABORTED");
  CHECK(r.outcome.reason == "timeout after 0.5s");
  CHECK(contains(r.log, "post-ok"));
  CHECK(r.elapsed < 4s);
}

TEST_CASE("the pipeline post section runs on the run's result", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  std::string source =
      "pipeline {\n  agent any\n  stages { stage('S') { steps { echo 'x' } } }\n"
      "  post {\n    failure { echo 'P-failure' }\n    success { echo 'P-success' }\n"
      "    regression { echo 'P-regression' }\n    always { echo 'P-always' }\n  }\n}\n";
  auto spec = make_spec(source, "");
  spec.current_result = "FAILURE";
  spec.previous_result = "SUCCESS";
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");  // the post steps themselves went well
  CHECK(contains(r.log, "P-always\n"));
  CHECK(contains(r.log, "P-regression\n"));
  CHECK(contains(r.log, "P-failure\n"));
  CHECK_FALSE(contains(r.log, "P-success"));
  CHECK(r.log.find("P-always") < r.log.find("P-regression"));
  CHECK(r.log.find("P-regression") < r.log.find("P-failure"));
}

TEST_CASE("a failure inside post makes the job FAILURE", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("echo 'ok'",
                                       "always { sh 'exit 4' }\n"
                                       "failure { echo 'post-failure' }"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "FAILURE");
  CHECK(r.outcome.reason == "post always: script returned exit code 4");
  CHECK(contains(r.log, "post-failure"));
}

TEST_CASE("bad pipelines, unknown stages and unknown steps fail with a message", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  JobRun bad = run_job(make_spec("pipeline { stages {", "S"), ws.str(), host);
  CHECK(bad.outcome.result == "FAILURE");
  CHECK(bad.outcome.reason.starts_with("pipeline: "));
  CHECK(contains(bad.log, "[gantry] ERROR: pipeline: "));

  JobRun missing = run_job(make_spec(stage_pipeline("echo 'x'"), "Nope"), ws.str(), host);
  CHECK(missing.outcome.reason == "stage 'Nope' not found in the pipeline");

  JobRun unknown = run_job(make_spec(stage_pipeline("hipchatSend 'hi'"), "S"), ws.str(), host);
  CHECK(unknown.outcome.result == "FAILURE");
  CHECK(unknown.outcome.reason == "step 'hipchatSend' is not supported by this agent");
}

TEST_CASE("a matrix cell's stage is found by its plan id", "[job_runner]") {
  TempDir ws;
  MemoryHost host;
  std::string source = R"(pipeline {
  agent any
  stages {
    stage('Build') {
      matrix {
        axes {
          axis { name 'OS'; values 'linux', 'mac' }
          axis { name 'ARCH'; values 'x86', 'arm' }
        }
        stages {
          stage('Compile') { steps { sh 'echo "compile os=$OS arch=$ARCH"' } }
          stage('Test') { steps { sh 'echo "test os=$OS"' } }
        }
      }
    }
  }
})";
  auto spec = make_spec(source, "Build / OS=mac, ARCH=arm / Compile");
  spec.env = {{"OS", "mac"}, {"ARCH", "arm"}};  // the controller puts the axes in env
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "compile os=mac arch=arm\n"));
  CHECK_FALSE(contains(r.log, "test os="));

  // A grouping stage is dispatched only for its post section: no steps run.
  JobRun group = run_job(make_spec(source, "Build"), ws.str(), host);
  CHECK(group.outcome.result == "SUCCESS");
  CHECK_FALSE(contains(group.log, "compile os="));
}
