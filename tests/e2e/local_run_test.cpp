// `gantry run`: an embedded controller and agent, the current directory as
// the workspace, the exit status from the result.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

CliResult run_in(const std::string& dir, const std::string& args) {
  std::string cmd = "cd '" + dir + "' && " GANTRY_BIN " run " + args + " 2>&1";
  CliResult out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.out.append(buf, n);
  int status = ::pclose(p);
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
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
  CliResult ok = run_in(dir.path, "-p WHO=tess");
  INFO(ok.out);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("succeeded") != std::string::npos);
  // The workspace is the current directory.
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
