// The job runner's steps one by one: files, environment, credentials,
// artifacts, stashes, junit, script blocks and error handling steps.
#include <catch2/catch.hpp>

#include "job_test_support.hpp"
#include "runner/job_runner.hpp"

using namespace gantry::testing;
namespace fs = std::filesystem;

TEST_CASE("dir, withEnv, writeFile and readFile", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"P(
        withEnv(['GREETING=hello', "TWICE=${env.BASE}${env.BASE}", 'PATH+TOOLS=/opt/tools']) {
          dir('sub/deeper') {
            writeFile file: 'f.txt', text: "greeting=${env.GREETING}"
            sh 'pwd > where.txt; echo "$TWICE $PATH" > env.txt'
          }
        }
        readFile 'sub/deeper/f.txt'
        sh 'echo "outside=${GREETING:-unset}"'
  )P"),
                        "S");
  spec.env["BASE"] = "ab";
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  fs::path deeper = ws.path() / "sub" / "deeper";
  CHECK(slurp(deeper / "f.txt") == "greeting=hello");
  CHECK(fs::path(slurp(deeper / "where.txt").substr(0, slurp(deeper / "where.txt").size() - 1)) ==
        fs::canonical(deeper));
  CHECK(slurp(deeper / "env.txt").starts_with("abab /opt/tools:"));
  CHECK(contains(r.log, "outside=unset\n"));
  CHECK(contains(r.log, "[gantry] Running in " + deeper.string() + "\n"));

  JobRun missing = run_job(make_spec(stage_pipeline("readFile 'nope.txt'"), "S"), ws.str(), host);
  CHECK(missing.outcome.result == "FAILURE");
  CHECK(missing.outcome.reason.starts_with("readFile: " + (ws.path() / "nope.txt").string()));
}

TEST_CASE("deleteDir empties the workspace but keeps it, in dir() removes the dir", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"P(
        sh 'mkdir -p a/b keep && touch a/b/c top'
        dir('a') { deleteDir() }
        sh 'test ! -e a && test -e top'
        deleteDir()
        sh 'test ! -e top && test ! -e keep && echo empty'
  )P"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "empty\n"));
  CHECK(fs::is_directory(ws.path()));
}

TEST_CASE("withCredentials exposes credentials masked, and removes secret files", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"P(
        withCredentials([string(credentialsId: 'tok', variable: 'T'),
                         usernamePassword(credentialsId: 'up', usernameVariable: 'U',
                                          passwordVariable: 'P'),
                         file(credentialsId: 'tok', variable: 'F')]) {
          sh 'echo "T=$T U=$U P=$P"; echo "file=$(cat "$F")"; echo "$F" > secret-path'
        }
        sh 'echo "after=${T:-unset}"'
  )P"),
                        "S");
  spec.credentials = {{"tok", "s3cr3t-value"}, {"up", "bobby:hunter22"}};
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "T=**** U=bobby P=****\n"));
  CHECK(contains(r.log, "file=****\n"));
  CHECK(contains(r.log, "after=unset\n"));
  CHECK_FALSE(contains(r.log, "s3cr3t"));
  CHECK_FALSE(contains(r.log, "hunter22"));
  std::string secret_path = slurp(ws.path() / "secret-path");
  secret_path.pop_back();
  CHECK(secret_path.starts_with(ws.str() + "@tmp/"));
  CHECK_FALSE(fs::exists(secret_path));

  auto missing =
      make_spec(stage_pipeline("withCredentials([string(credentialsId: 'nope', variable: 'X')]) { "
                               "echo 'in' }"),
                "S");
  JobRun m = run_job(missing, ws.str(), host);
  CHECK(m.outcome.result == "FAILURE");
  CHECK(m.outcome.reason == "credentials 'nope' not available");
  CHECK_FALSE(contains(m.log, "in\n"));
}

TEST_CASE("archiveArtifacts uploads matching files, stash and unstash round-trip", "[job_steps]") {
  TempDir ws1, ws2;
  MemoryHost host;
  std::string source = R"P(pipeline {
  agent any
  stages {
    stage('Build') {
      steps {
        sh 'mkdir -p out/lib out/skip && echo app > out/app.jar && echo dep > out/lib/dep.jar'
        sh 'echo no > out/skip/x.jar && echo notes > notes.txt && echo ignored > other.txt'
        archiveArtifacts artifacts: 'out/**/*.jar, notes.txt', excludes: 'out/skip/**'
        stash name: 'bin', includes: 'out/**', excludes: 'out/skip/**'
      }
    }
    stage('Test') {
      steps {
        unstash 'bin'
        sh 'cat out/app.jar out/lib/dep.jar; test ! -e out/skip/x.jar'
      }
    }
  }
})P";
  JobRun build = run_job(make_spec(source, "Build"), ws1.str(), host);
  CHECK(build.outcome.result == "SUCCESS");
  CHECK(host.artifacts == std::map<std::string, std::string>{{"notes.txt", "notes\n"},
                                                             {"out/app.jar", "app\n"},
                                                             {"out/lib/dep.jar", "dep\n"}});
  REQUIRE(host.stashes.count("bin") == 1);
  CHECK(contains(build.log, "[gantry] Stashed 2 file(s) as 'bin'"));

  JobRun test = run_job(make_spec(source, "Test"), ws2.str(), host);
  CHECK(test.outcome.result == "SUCCESS");
  CHECK(contains(test.log, "app\ndep\n"));

  JobRun none =
      run_job(make_spec(stage_pipeline("archiveArtifacts 'missing/*.zip'"), "S"), ws2.str(), host);
  CHECK(none.outcome.result == "FAILURE");
  CHECK(none.outcome.reason == "No artifacts found that match the file pattern \"missing/*.zip\"");
  JobRun allowed = run_job(
      make_spec(stage_pipeline("archiveArtifacts artifacts: 'x/*', allowEmptyArchive: true"), "S"),
      ws2.str(), host);
  CHECK(allowed.outcome.result == "SUCCESS");
  JobRun unknown = run_job(make_spec(stage_pipeline("unstash 'nope'"), "S"), ws2.str(), host);
  CHECK(unknown.outcome.reason == "unstash 'nope': no stash named 'nope'");
}

TEST_CASE("junit counts tests and makes the stage UNSTABLE on failures", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  const std::string report =
      "<testsuite><testcase name='a'/><testcase name='b'><failure/></testcase>"
      "<testcase name='c'><skipped/></testcase></testsuite>";
  auto spec = make_spec(stage_pipeline("writeFile file: 'reports/unit.xml', text: \"" + report +
                                       "\"\njunit 'reports/*.xml'\necho 'after'"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "UNSTABLE");
  CHECK(r.outcome.reason == "1 test(s) failed");
  CHECK(r.outcome.tests.total == 3);
  CHECK(r.outcome.tests.failed == 1);
  CHECK(r.outcome.tests.skipped == 1);
  CHECK(contains(r.log, "after\n"));

  JobRun bad = run_job(make_spec(stage_pipeline("writeFile file: 'r/bad.xml', text: '<testsuite>'"
                                                "\njunit 'r/*.xml'"),
                                 "S"),
                       ws.str(), host);
  CHECK(bad.outcome.result == "FAILURE");
  CHECK(bad.outcome.reason == "junit: r/bad.xml: line 1: <testsuite> is never closed");

  JobRun empty = run_job(make_spec(stage_pipeline("junit 'none/*.xml'"), "S"), ws.str(), host);
  CHECK(empty.outcome.result == "FAILURE");
  JobRun allowed = run_job(
      make_spec(stage_pipeline("junit testResults: 'none/*.xml', allowEmptyResults: true"), "S"),
      ws.str(), host);
  CHECK(allowed.outcome.result == "SUCCESS");
}

TEST_CASE("script blocks run steps, if/else and currentBuild.result", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"P(
        script {
          if (env.BRANCH_NAME == 'main' && params.DEPLOY) {
            echo 'deploying'
            sh script: 'exit 5', returnStatus: true
          } else {
            echo 'skipping'
          }
          dir('d') { writeFile file: 'x', text: 'y' }
          currentBuild.result = 'UNSTABLE'
          return
          echo 'unreachable'
        }
        echo "result=${currentBuild.result}"
  )P"),
                        "S");
  spec.env = {{"BRANCH_NAME", "main"}, {"DEPLOY", "true"}};
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "UNSTABLE");
  CHECK(r.outcome.stage_result == "SUCCESS");
  CHECK(contains(r.log, "deploying\n"));
  CHECK_FALSE(contains(r.log, "skipping"));
  CHECK_FALSE(contains(r.log, "unreachable"));
  CHECK(contains(r.log, "result=UNSTABLE\n"));
  CHECK(fs::exists(ws.path() / "d" / "x"));

  // All of Groovy runs; what the sandbox refuses fails where it is reached, not before (a
  // branch not taken is no error).
  auto sandboxed = make_spec(stage_pipeline("script {\n  def x = 1\n"
                                            "  if (x == 2) { new File('/etc/passwd') }\n"
                                            "  echo \"ran ${x + 1}\"\n"
                                            "  new File('/etc/passwd')\n  echo 'after'\n}"),
                             "S");
  JobRun u = run_job(sandboxed, ws.str(), host);
  CHECK(u.outcome.result == "FAILURE");
  CHECK(u.outcome.reason ==
        "script: 10:3: java.lang.SecurityException: Gantry's sandbox does not allow new "
        "java.io.File: use readFile, writeFile and fileExists");
  CHECK(contains(u.log, "ran 2\n"));
  CHECK_FALSE(contains(u.log, "after\n"));
}

TEST_CASE("catchError, warnError, unstable and error", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto caught = make_spec(stage_pipeline(R"P(
        catchError(buildResult: 'SUCCESS', stageResult: 'FAILURE', message: 'lint failed') {
          sh 'exit 1'
        }
        echo 'after-catch'
  )P"),
                          "S");
  JobRun c = run_job(caught, ws.str(), host);
  CHECK(c.outcome.result == "SUCCESS");
  CHECK(c.outcome.stage_result == "FAILURE");
  CHECK(contains(c.log, "[gantry] lint failed\n"));
  CHECK(contains(c.log, "after-catch\n"));

  JobRun d = run_job(make_spec(stage_pipeline("catchError { error 'boom' }\necho 'went on'"), "S"),
                     ws.str(), host);
  CHECK(d.outcome.result == "FAILURE");  // Jenkins' defaults: build FAILURE, stage SUCCESS
  CHECK(d.outcome.stage_result == "SUCCESS");
  CHECK(d.outcome.reason == "boom");
  CHECK(contains(d.log, "went on\n"));

  JobRun w =
      run_job(make_spec(stage_pipeline("warnError('flaky') { sh 'exit 2' }"), "S"), ws.str(), host);
  CHECK(w.outcome.result == "UNSTABLE");
  CHECK(w.outcome.reason == "flaky");
  CHECK(contains(w.log, "[gantry] WARNING: flaky\n"));

  JobRun u = run_job(make_spec(stage_pipeline("unstable 'coverage low'\necho 'more'"), "S"),
                     ws.str(), host);
  CHECK(u.outcome.result == "UNSTABLE");
  CHECK(contains(u.log, "more\n"));

  JobRun e =
      run_job(make_spec(stage_pipeline("error 'bad input'\necho 'no'"), "S"), ws.str(), host);
  CHECK(e.outcome.result == "FAILURE");
  CHECK(e.outcome.reason == "bad input");
  CHECK(contains(e.log, "[gantry] ERROR: bad input\n"));
}

TEST_CASE("sh reports output written without a newline and large output intact", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline("sh 'printf tail'\n"
                                       "sh 'head -c 300000 /dev/zero | tr \"\\\\0\" x'"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "tail[gantry] + head"));
  CHECK(contains(r.log, std::string(300000, 'x')));
}

TEST_CASE("input waits for the controller's answer, the approver reaches later steps",
          "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  host.input_replies = {{"pending", "INPUT-4", "", ""},
                        {"error", "", "", "connection refused"},
                        {"pending", "INPUT-4", "", ""},
                        {"approved", "INPUT-4", "rita", ""}};
  auto spec = make_spec(stage_pipeline(R"P(
        sh 'echo before'
        input message: 'Ship it?', ok: 'Ship', submitter: 'rita', submitterParameter: 'WHO'
        sh 'echo "after $WHO"'
  )P"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "Waiting for INPUT-4: Ship it? (Ship: gantry approve INPUT-4;"));
  CHECK(contains(r.log, "cannot reach the controller (connection refused)"));
  CHECK(contains(r.log, "INPUT-4 approved by rita"));
  CHECK(contains(r.log, "after rita\n"));
  REQUIRE(host.questions.size() == 4);
  CHECK(host.questions[0].message == "Ship it?");
  CHECK(host.questions[0].submitter == "rita");
  CHECK(host.questions[0].id == "Ship it?");

  MemoryHost refusing;
  refusing.input_replies = {{"rejected", "INPUT-5", "", "INPUT-5 rejected by rob: not now"}};
  JobRun rejected =
      run_job(make_spec(stage_pipeline("input 'Go?'\nsh 'echo never'"), "S"), ws.str(), refusing);
  CHECK(rejected.outcome.result == "ABORTED");
  CHECK(rejected.outcome.reason == "INPUT-5 rejected by rob: not now");
  CHECK_FALSE(contains(rejected.log, "never"));
}

TEST_CASE("input parameters travel with the question and come back as Jenkins returns them",
          "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  host.input_replies = {
      {"approved", "INPUT-1", "rita", "", {{"WHO", "  alice "}, {"FAST", "true"}}}};
  auto spec = make_spec(stage_pipeline(R"P(
        script {
          def r = input message: 'Go?', submitterParameter: 'BY', parameters: [
            string(name: 'WHO', defaultValue: 'x', description: 'who', trim: true),
            booleanParam(name: 'FAST'), choice(name: 'WHERE', choices: "eu\nus"),
            text(name: 'NOTES', defaultValue: 'n'), password(name: 'PW', defaultValue: 's3cret-pw')]
          echo "pw=${r.PW}"
          echo "who=[${r.WHO}] fast=${r.FAST} bool=${r.FAST instanceof Boolean} where=${r.WHERE} notes=${r.NOTES} by=${r.BY} size=${r.size()}"
          def one = input message: 'One?', parameters: [booleanParam(name: 'OK', defaultValue: true)]
          echo "one=${one} bool=${one instanceof Boolean}"
          def who = input message: 'Who?', submitterParameter: 'APPROVER'
          echo "who=${who}"
          def none = input 'None?'
          echo "none=${none}"
        }
        input message: 'Declarative?', parameters: [string(name: 'IGNORED')], submitterParameter: 'SUB'
        sh 'echo "sub=$SUB"'
  )P"),
                        "S");
  JobRun r = run_job(spec, ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "who=[alice] fast=true bool=true where=eu notes=n by=rita size=6\n"));
  CHECK(contains(r.log, "one=true bool=true\n"));
  // A password the approver gave is masked in the job's log from then on.
  CHECK(contains(r.log, "pw=****\n"));
  CHECK_FALSE(contains(r.log, "s3cret-pw"));
  CHECK(contains(r.log, "who=rita\n"));
  CHECK(contains(r.log, "none=null\n"));
  CHECK(contains(r.log, "sub=rita\n"));
  REQUIRE(host.questions.size() == 5);
  const auto& params = host.questions[0].parameters;
  REQUIRE(params.size() == 5);
  CHECK(params[0].name == "WHO");
  CHECK(params[0].type == "string");
  CHECK(params[0].default_value == "x");
  CHECK(params[0].description == "who");
  CHECK(params[0].trim);
  CHECK(params[1].default_value == "false");
  CHECK(params[2].choices == std::vector<std::string>{"eu", "us"});
  CHECK(params[2].default_value == "eu");
  CHECK(params[4].type == "password");

  auto failing = [&](const std::string& params, bool script = false) {
    MemoryHost never;
    std::string step = "input message: 'Go?', parameters: " + params;
    JobRun bad = run_job(make_spec(stage_pipeline(script ? "script { " + step + " }" : step), "S"),
                         ws.str(), never);
    CHECK(bad.outcome.result == "FAILURE");
    CHECK(never.questions.empty());
    return bad.outcome.reason;
  };
  CHECK(contains(failing("[file(name: 'F')]"),
                 "expected a parameter: string, text, booleanParam, choice or password"));
  CHECK(contains(failing("[string(defaultValue: 'x')]"), "string(...) needs a name"));
  CHECK(contains(failing("[choice(name: 'C', choices: [])]"), "choice 'C' has no choices"));
  CHECK(contains(failing("[booleanParam(name: 'B', defaultValue: 'maybe')]"),
                 "defaultValue is true or false"));
  CHECK(contains(failing("[string(name: 'A'), text(name: 'A')]"), "'A' is defined twice"));
  CHECK(contains(failing("[string(name: 'A', choices: ['x'])]"), "has no argument 'choices'"));
  // From Groovy, past the declarative checks.
  CHECK(contains(failing("'A'", true), "'parameters' is a list"));
}

TEST_CASE("compareMetrics passes, fails past maxIncrease, and is inconclusive with few samples",
          "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  std::string base, same, slower;
  for (int i = 0; i < 60; ++i) {
    base += std::to_string(100 + i % 10) + "\n";
    same += std::to_string(101 + i % 10) + ",";
    slower += std::to_string(130 + i % 10) + " ";
  }
  std::ofstream(ws.path() / "base.txt") << base;
  std::ofstream(ws.path() / "same.txt") << same;
  std::ofstream(ws.path() / "slower.txt") << slower;
  std::ofstream(ws.path() / "few.txt") << "100 101 102";
  std::ofstream(ws.path() / "junk.txt") << "100 fast 102";
  host.samples["http://prom.test/q"] = std::vector<double>(60, 135.0);
  auto step = [&](const std::string& canary, const std::string& extra = "") {
    return run_job(
        make_spec(stage_pipeline("compareMetrics baseline: 'base.txt', canary: '" + canary +
                                 "', metric: 'latency_ms', maxIncrease: "
                                 "'10%', alpha: 0.05, minSamples: 50" +
                                 extra),
                  "S"),
        ws.str(), host);
  };
  JobRun ok = step("same.txt");
  CHECK(ok.outcome.result == "SUCCESS");
  CHECK(contains(ok.log, "compareMetrics latency_ms: passed (Mann-Whitney U="));
  JobRun bad = step("slower.txt");
  CHECK(bad.outcome.result == "FAILURE");
  CHECK(contains(bad.outcome.reason,
                 "compareMetrics latency_ms: the canary is greater than the baseline + 10%"));
  JobRun prom = step("http://prom.test/q");
  CHECK(prom.outcome.result == "FAILURE");
  JobRun few = step("few.txt");
  CHECK(few.outcome.result == "FAILURE");
  CHECK(contains(few.outcome.reason, "inconclusive: 60 baseline and 3 canary samples"));
  JobRun junk = step("junk.txt");
  CHECK(contains(junk.outcome.reason, "not a number near 'fast"));
  JobRun missing = step("http://prom.test/none");
  CHECK(contains(missing.outcome.reason, "no such series"));
}

TEST_CASE("sh runs a script under the interpreter its #! line names, as Jenkins does",
          "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  JobRun r = run_job(make_spec(stage_pipeline(R"P(
        sh '''#!/bin/bash
if [[ -n "$BASH_VERSION" ]]; then echo "bash here"; fi
arr=(a b c); echo "count ${#arr[@]}"'''
        sh """#!/usr/bin/env python3
import sys
print('python', 6 * 7)
"""
        sh 'echo "plain sh"'
        script {
          def code = sh(script: '#!/bin/sh\nexit 3', returnStatus: true)
          echo "status ${code}"
        }
  )P"),
                               "S"),
                     ws.str(), host);
  INFO(r.log);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "bash here\ncount 3\n"));
  CHECK(contains(r.log, "python 42\n"));
  CHECK(contains(r.log, "plain sh\n"));
  CHECK(contains(r.log, "status 3\n"));
  // Nothing left behind in the job's scratch directory.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ws.str() + "@tmp", ec))
    CHECK(e.path().filename().string().find("gantry-script") == std::string::npos);
}

TEST_CASE("scm shows the run's repository and branch to Groovy as GitSCM does", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  auto spec = make_spec(stage_pipeline(R"P(
        script {
          echo "url=${scm.userRemoteConfigs[0].url} branch=${scm.branches[0].name} ext=${scm.extensions.size()}"
        }
  )P"),
                        "S");
  spec.repo_url = "https://git.example.com/app.git";
  spec.env["BRANCH_NAME"] = "feature/x";
  JobRun r = run_job(spec, ws.str(), host);
  INFO(r.log);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "url=https://git.example.com/app.git branch=feature/x ext=0\n"));
}

TEST_CASE("parallel written straight in steps runs its branches as Jenkins' parallel step",
          "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  JobRun r = run_job(make_spec(stage_pipeline(R"P(
        parallel(
          left: { sh 'echo "left side"' },
          right: { echo 'right side' }
        )
  )P"),
                               "S"),
                     ws.str(), host);
  INFO(r.log);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "left side\n"));
  CHECK(contains(r.log, "right side\n"));
}

TEST_CASE("withChecks runs its body", "[job_steps]") {
  TempDir ws;
  MemoryHost host;
  JobRun r = run_job(make_spec(stage_pipeline("withChecks('Tests') { echo 'inside checks' }"), "S"),
                     ws.str(), host);
  CHECK(r.outcome.result == "SUCCESS");
  CHECK(contains(r.log, "inside checks\n"));
}
