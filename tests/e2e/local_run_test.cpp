// `gantry run`: an embedded controller and agent, a copy of the working tree (or the current
// directory itself with --workspace here) as the workspace, step output live by stage, logs and
// artifacts kept in .gantry/runs/N, the exit status from the result (issue 18, item 1).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

CliResult run_in(const std::string& dir, const std::string& args) {
  return shell("cd '" + dir + "' && " GANTRY_BIN " run " + args + " 2>&1 </dev/null");
}

}  // namespace

TEST_CASE("gantry run runs the pipeline here and exits with its result") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  parameters { string(name: 'WHO', defaultValue: 'nobody') }
  stages {
    stage('Write') { steps { sh 'echo "hello $WHO" > out.txt' } }
    stage('Check') {
      parallel {
        stage('A') { steps { sh 'grep -q hello out.txt' } }
        stage('B') { steps { sh 'test -f out.txt' } }
      }
    }
  }
}
)";
  CliResult ok = run_in(dir.path, "-p WHO=tess --workspace here");
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("succeeded") != std::string::npos);
  // --workspace here: the workspace is the current directory.
  CHECK(read_file(dir.path + "/out.txt") == "hello tess\n");

  std::ofstream(dir.path + "/fail.gantry.yml") << R"(agent: any
stages:
  - stage: Broken
    steps:
      - sh: exit 7
)";
  CliResult failed = run_in(dir.path, "fail.gantry.yml");
  INFO(failed.out);
  CHECK(failed.exit_code == 1);
  CHECK(failed.out.find("exit code 7") != std::string::npos);

  std::ofstream(dir.path + "/Unstable") << R"(pipeline {
  agent any
  stages { stage('U') { steps { unstable 'flaky' } } }
}
)";
  CHECK(run_in(dir.path, "Unstable").exit_code == 3);

  std::ofstream(dir.path + "/Bad") << "pipeline { stages { stage('x') { stpes { } } } }\n";
  CliResult bad = run_in(dir.path, "Bad");
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("Bad:1:") != std::string::npos);
}

namespace {

void sh(const std::string& cmd) {
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

std::string capture(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p) ::pclose(p);
  return out;
}

// A git checkout with a Jenkinsfile as real ones are: a label no local machine has, a build
// that writes outputs, a deleteDir(), a failing test with a post section, a deploy.
const char* kTeamPipeline = R"(pipeline {
  agent { label 'ubuntu-18.04 && x64' }
  stages {
    stage('Build') {
      steps {
        sh 'mkdir -p out && echo binary > out/app'
        archiveArtifacts artifacts: 'out/app'
      }
    }
    stage('Clean') { steps { deleteDir() } }
    stage('Test') {
      steps { sh 'echo "FAIL: test_parse expected 1, got 2"; exit 2' }
      post { failure { echo 'see the test report above' } }
    }
    stage('Deploy') {
      deploy('production') { rollback { sh 'echo undo' } }
      steps { sh 'echo deploying' }
    }
  }
}
)";

}  // namespace

TEST_CASE("gantry run works on a copy of the tree and shows and keeps what failed") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << kTeamPipeline;
  std::ofstream(dir.path + "/README") << "hello\n";
  sh("cd '" + dir.path + "' && git init -q -b main && git add -A && git -c user.name=t -c " +
     "user.email=t@example.com commit -qm init");
  std::ofstream(dir.path + "/notes.txt") << "untracked, not ignored\n";

  CliResult r = run_in(dir.path, "");
  INFO(r.out);
  CHECK(r.exit_code == 1);
  // Never waits on the label; says what it ignored.
  CHECK_THAT(r.out, Catch::Contains("asks for agent label 'ubuntu-18.04 && x64'; it runs here"));
  // The step's own output and the post text, by stage.
  CHECK_THAT(r.out, Catch::Contains("[Test] FAIL: test_parse expected 1, got 2"));
  CHECK_THAT(r.out, Catch::Contains("[Test] see the test report above"));
  CHECK_THAT(r.out, Catch::Contains("--- Test: failed"));
  // The user's files are untouched: deleteDir() and the build happened in the copy.
  CHECK(std::filesystem::exists(dir.path + "/.git/HEAD"));
  CHECK(read_file(dir.path + "/README") == "hello\n");
  CHECK(read_file(dir.path + "/notes.txt") == "untracked, not ignored\n");
  CHECK_FALSE(std::filesystem::exists(dir.path + "/out"));
  CHECK(capture("cd '" + dir.path + "' && git status --porcelain") == "?? notes.txt\n");
  // The logs and artifacts stay, where it says.
  CHECK_THAT(r.out, Catch::Contains("logs and 1 artifact(s): .gantry/runs/1/"));
  CHECK_THAT(read_file(dir.path + "/.gantry/runs/1/logs/Test.log"),
             Catch::Contains("FAIL: test_parse"));
  CHECK(read_file(dir.path + "/.gantry/runs/1/artifacts/out/app") == "binary\n");
  CHECK_THAT(read_file(dir.path + "/.gantry/runs/1/run.json"), Catch::Contains("\"failed\""));
  // No daemon log lines in a user's terminal.
  CHECK_THAT(r.out, !Catch::Contains("level="));

  // --quiet: status lines, and the failed stage's last lines at the end.
  CliResult quiet = run_in(dir.path, "--quiet --out kept");
  INFO(quiet.out);
  CHECK_THAT(quiet.out, Catch::Contains("--- Test: the last lines of its log"));
  CHECK_THAT(quiet.out, Catch::Contains("[Test] FAIL: test_parse"));
  CHECK(std::count(quiet.out.begin(), quiet.out.end(), '\n') < 20);
  CHECK(std::filesystem::exists(dir.path + "/kept/logs/Test.log"));
}

TEST_CASE("gantry run leaves deploys out unless asked, picks stages, and answers inputs") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages {
    stage('Build') { steps { echo 'built' } }
    stage('Approve') {
      input {
        message 'Ship it?'
        submitter 'release-managers'
        submitterParameter 'APPROVER'
        parameters { choice(name: 'TARGET', choices: ['eu', 'us']) }
      }
      steps { echo "target=${TARGET} by ${APPROVER}" }
    }
    stage('Deploy') {
      deploy('production') { rollback { echo 'undo' } }
      steps { echo 'deploying' }
    }
  }
}
)";
  // No terminal and no --input: the input is refused, saying how to answer it.
  CliResult none = run_in(dir.path, "--workspace here");
  INFO(none.out);
  CHECK(none.exit_code == 4);
  CHECK_THAT(none.out, Catch::Contains("not a terminal"));
  CHECK_THAT(none.out, Catch::Contains("--input proceed"));

  CliResult until = run_in(dir.path, "--until Build");
  INFO(until.out);
  CHECK(until.exit_code == 0);
  CHECK_THAT(until.out, Catch::Contains("--- Approve: skipped: left out by gantry run --until"));
  CHECK_THAT(until.out, Catch::Contains("--- Deploy: skipped: deploy('production') left out"));

  CliResult all = run_in(dir.path, "--input proceed -i TARGET=us --with-deploys");
  INFO(all.out);
  CHECK(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("deploys to 'production' from here, without its GMUD"));
  CHECK_THAT(all.out, Catch::Contains("[Approve] target=us by "));
  CHECK_THAT(all.out, Catch::Contains("[Deploy] deploying"));

  CliResult only = run_in(dir.path, "--stage Build --input abort");
  CHECK(only.exit_code == 0);
  CHECK_THAT(only.out, Catch::Contains("--- Approve: skipped: left out by gantry run --stage"));

  CliResult unknown = run_in(dir.path, "--stage Biuld");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.out,
             Catch::Contains("no stage 'Biuld' in the pipeline (its stages: Build, Approve, "
                             "Deploy)"));
  CliResult help = run_in(dir.path, "--help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("usage: gantry run [FILE] [options]"));
  CHECK(run_in(dir.path, "--workspace nowhere").exit_code == 2);
}

TEST_CASE("gantry run asks an input's questions at a terminal") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages {
    stage('Approve') {
      input {
        message 'Ship it?'
        parameters { choice(name: 'TARGET', choices: ['eu', 'us'], description: 'Where') }
      }
      steps { echo "target=${TARGET}" }
    }
  }
}
)";
  // A real terminal (a pty from util-linux's script), the answers typed ahead.
  auto answered = [&](const std::string& typed) {
    return shell("cd '" + dir.path + "' && printf '" + typed +
                 "' | script -qec '" GANTRY_BIN " run --workspace here' /dev/null 2>&1");
  };
  CliResult yes = answered("us\\ny\\n");
  INFO(yes.out);
  CHECK(yes.exit_code == 0);
  CHECK_THAT(yes.out, Catch::Contains("input: Ship it?"));
  CHECK_THAT(yes.out, Catch::Contains("TARGET (Where) [eu/us] (default 'eu'):"));
  CHECK_THAT(yes.out, Catch::Contains("Proceed? [Y/n]"));
  CHECK_THAT(yes.out, Catch::Contains("target=us"));
  CliResult no = answered("\\nn\\n");
  INFO(no.out);
  CHECK(no.exit_code == 4);
  CHECK_THAT(no.out, !Catch::Contains("target="));
}

TEST_CASE("gantry run lists the failed tests and keeps them all") {
  TempDir dir;
  std::filesystem::create_directories(dir.path + "/reports");
  std::ofstream(dir.path + "/reports/unit.xml") << R"(<testsuite name="u">
  <testcase classname="calc" name="adds"/>
  <testcase classname="calc" name="divides"><failure message="division by zero">trace</failure></testcase>
</testsuite>
)";
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  stages { stage('Test') { steps { junit 'reports/*.xml' } } }
}
)";
  CliResult r = run_in(dir.path, "--workspace here");
  INFO(r.out);
  CHECK(r.exit_code == 3);  // unstable
  CHECK_THAT(r.out, Catch::Contains("failed tests:\n  Test: calc.divides: division by zero"));
  CHECK_THAT(read_file(dir.path + "/.gantry/runs/1/tests.json"), Catch::Contains("\"adds\""));
}

TEST_CASE("gantry run decides a booleanParam's when-expression by its value") {
  TempDir dir;
  std::ofstream(dir.path + "/Jenkinsfile") << R"(pipeline {
  agent any
  parameters { booleanParam(name: 'DEPLOY', defaultValue: true) }
  stages {
    stage('Deploy') {
      when { expression { params.DEPLOY } }
      steps { echo "deploying=${params.DEPLOY}" }
    }
    stage('Skip') {
      when { expression { !params.DEPLOY } }
      steps { echo 'not deploying' }
    }
  }
}
)";
  CliResult on = run_in(dir.path, "--workspace here");
  INFO(on.out);
  CHECK_THAT(on.out, Catch::Contains("[Deploy] deploying=true"));
  CHECK_THAT(on.out, Catch::Contains("--- Skip: skipped"));
  CliResult off = run_in(dir.path, "--workspace here -p DEPLOY=false");
  INFO(off.out);
  CHECK_THAT(off.out, Catch::Contains("--- Deploy: skipped"));
  CHECK_THAT(off.out, Catch::Contains("[Skip] not deploying"));
}
