// Real Jenkinsfiles' Groovy (issue 19, docs/groovy.md): one pipeline with the
// constructs that kept real files from running (script blocks with def, method
// calls, assignments, env.X =, currentBuild fields, loops and try/catch;
// environment values that call steps; helper methods as steps; scripted
// parallel and node/stage in script; when { expression } with method calls;
// a non-literal agent label; top-level variables and @Field), run through a
// controller with two agents and through `gantry run`.
#include <catch2/catch.hpp>

#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

constexpr const char* kGroovyPipeline = R"(import groovy.json.JsonOutput
import groovy.transform.Field

VERSION = '2.1'
@Field def shipped = []
echo "top-level code of v${VERSION}"

def notify(String what) {
  echo "notify: ${what} v${VERSION}"
  shipped << what
}

pipeline {
  agent none
  parameters {
    string(name: 'TARGET_LABEL', defaultValue: 'deploy')
    booleanParam(name: 'SHIP', defaultValue: true)
  }
  environment {
    def MODE = 'release'
    OUT_DIR = "${WORKSPACE}/out"
  }
  stages {
    stage('Build') {
      agent { label 'build' }
      environment {
        SHORT = sh(script: 'echo abc123', returnStdout: true).trim()
      }
      steps {
        script {
          def parts = ['a', 'b', 'c'].collect { it.toUpperCase() }
          env.ARTIFACT = "app-${SHORT}-${parts.join('')}.tar"
          built = [name: env.ARTIFACT, size: 42]
          currentBuild.description = "built ${env.ARTIFACT}"
          for (int i = 0; i < 2; i++) {
            echo "loop ${i}"
          }
          try {
            sh 'exit 4'
          } catch (e) {
            echo "caught: ${e.message}"
          }
          def branches = [:]
          ['x', 'y'].each { n -> branches["branch-${n}"] = { echo "in branch ${n}" } }
          parallel branches
          node {
            stage('Inner') { echo 'inside node' }
          }
          def out = sh(returnStdout: true, script: 'echo "${MODE}"').trim()
          if (out != 'release') error("MODE was ${out}")
        }
        notify('built')
        writeFile file: 'version.txt', text: "${VERSION}"
      }
    }
    stage('Ship') {
      agent { label params.TARGET_LABEL }
      when {
        expression { params.SHIP && built.size > 40 && currentBuild.number >= 1 && built.name.contains('abc123') }
      }
      steps {
        sh 'echo "shipping $ARTIFACT mode=$MODE tag=$BUILD_TAG node=$NODE_NAME"'
        script {
          echo "json=${JsonOutput.toJson(built)} description=${currentBuild.description}"
        }
      }
    }
    stage('Skipped') {
      when { expression { return !params.SHIP } }
      steps { echo 'must not run' }
    }
  }
}
)";

}  // namespace

TEST_CASE("Jenkinsfile Groovy runs through a controller with two agents") {
  Cluster c;
  c.start_controller();
  c.start_agent({"builder", {"build"}, 1});
  c.start_agent({"deployer", {"deploy"}, 1});
  c.wait_agents(2);
  std::string repo = c.make_repo({{"Jenkinsfile", kGroovyPipeline}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 60s);
  std::string build_log = c.stage_log(id, "Build");
  std::string ship_log = c.stage_log(id, "Ship");
  INFO(run.dump() << "\n--- Build\n" << build_log << "\n--- Ship\n" << ship_log);
  REQUIRE(run["status"] == "succeeded");
  auto s = stages_by_id(run);
  // The label came from a parameter; the state from the first agent reached the second.
  CHECK(s["Build"]["agent"] == "builder");
  CHECK(s["Ship"]["agent"] == "deployer");
  CHECK(s["Skipped"]["status"] == "skipped");
  CHECK(run["description"] == "built app-abc123-ABC.tar");
  CHECK(build_log.find("loop 1\n") != std::string::npos);
  CHECK(build_log.find("caught: script returned exit code 4\n") != std::string::npos);
  CHECK(build_log.find("in branch x\n") != std::string::npos);
  CHECK(build_log.find("in branch y\n") != std::string::npos);
  CHECK(build_log.find("inside node\n") != std::string::npos);
  CHECK(build_log.find("notify: built v2.1\n") != std::string::npos);
  // The code around pipeline { } runs in every job; the first one logs it.
  CHECK(build_log.find("top-level code of v2.1\n") != std::string::npos);
  CHECK(ship_log.find("top-level code of v2.1") == std::string::npos);
  CHECK(ship_log.find("shipping app-abc123-ABC.tar mode=release tag=gantry-") != std::string::npos);
  CHECK(ship_log.find("node=deployer") != std::string::npos);
  CHECK(ship_log.find("json={\"name\":\"app-abc123-ABC.tar\",\"size\":42} description=built "
                      "app-abc123-ABC.tar\n") != std::string::npos);
}

TEST_CASE("Jenkinsfile Groovy runs the same through gantry run") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << kGroovyPipeline;
  CliResult r =
      shell("cd '" + dir.path + "' && " GANTRY_BIN " run --workspace here 2>&1 </dev/null");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("caught: script returned exit code 4") != std::string::npos);
  CHECK(r.out.find("shipping app-abc123-ABC.tar mode=release") != std::string::npos);
  CHECK(r.out.find("must not run") == std::string::npos);
  CHECK(read_file(dir.path + "/version.txt") == "2.1");
  const size_t once = r.out.find("top-level code of v2.1");
  CHECK(once != std::string::npos);
  CHECK(r.out.find("top-level code of v2.1", once + 1) == std::string::npos);
}

TEST_CASE("a Groovy error fails its stage at its line and only when reached") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('S') {
      steps {
        script {
          def m = [a: 1]
          if (m.a == 2) {
            new File('/etc/shadow').text
          }
          echo "reached ${m.a}"
          def x = m.b.trim()
          echo 'never'
        }
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id, 30s);
  std::string log = c.stage_log(id, "S");
  INFO(run.dump() << log);
  CHECK(run["status"] == "failed");
  CHECK(log.find("reached 1\n") != std::string::npos);
  CHECK(log.find("never") == std::string::npos);
  CHECK(log.find("script: 12:23: java.lang.NullPointerException: Cannot invoke method trim() "
                 "on null object") != std::string::npos);
}

TEST_CASE("scripted parallel runs its branches at once and failFast stops the others") {
  // Each branch of `Both` waits (bounded) for the other to have started: run one after the
  // other, the first would give up and fail. `slow` would sleep a minute unless failFast
  // stops it when `quick` fails.
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(def waitFor(String mine, String other) {
  return 'touch ' + mine + '; i=0; while [ ! -f ' + other + ' ]; do i=$((i+1)); ' +
         '[ $i -gt 400 ] && exit 1; sleep 0.05; done'
}

pipeline {
  agent any
  stages {
    stage('Both') {
      steps {
        script {
          def seen = []
          parallel a: { sh waitFor('a.up', 'b.up'); seen << 'a'; echo 'a saw b' },
                   b: { sh waitFor('b.up', 'a.up'); seen << 'b'; echo 'b saw a' }
          echo "seen ${seen.sort()}"
        }
      }
    }
    stage('FailFast') {
      steps {
        script {
          parallel failFast: true,
            quick: { sh 'while [ ! -f slow.up ]; do sleep 0.05; done; exit 3' },
            slow: { sh 'touch slow.up; sleep 60'; echo 'slow finished' }
        }
      }
    }
  }
}
)";
  CliResult r =
      shell("cd '" + dir.path + "' && " GANTRY_BIN " run --workspace here 2>&1 </dev/null");
  INFO(r.out);
  CHECK(r.exit_code != 0);
  CHECK(r.out.find("a saw b") != std::string::npos);
  CHECK(r.out.find("b saw a") != std::string::npos);
  CHECK(r.out.find("seen [a, b]") != std::string::npos);
  CHECK(r.out.find("[slow] Branch aborted: another branch failed (failFast)") != std::string::npos);
  CHECK(r.out.find("Failed in branch quick") != std::string::npos);
  CHECK(r.out.find("slow finished") == std::string::npos);
}

TEST_CASE("properties with job properties inside script is said and changes nothing") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages {
    stage('S') {
      steps {
        script {
          properties([buildDiscarder(logRotator(numToKeepStr: '5')), disableConcurrentBuilds(),
                      pipelineTriggers([cron('H 2 * * *')])])
          echo 'after properties'
        }
      }
    }
  }
}
)";
  CliResult r =
      shell("cd '" + dir.path + "' && " GANTRY_BIN " run --workspace here 2>&1 </dev/null");
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("properties(): not applied") != std::string::npos);
  CHECK(r.out.find("after properties") != std::string::npos);
}
