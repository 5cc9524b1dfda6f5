// The `gantry` binary as a user runs it: exit codes, output formats, stdin.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Result {
  int status = -1;
  std::string out;
};

// Runs a shell command line with the gantry binary as $G; captures stdout.
Result run(const std::string& args) {
  std::string cmd = "cd '" GANTRY_SOURCE_DIR "' && G='" GANTRY_BIN "'; " + args + " 2>/dev/null";
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

}  // namespace

TEST_CASE("gantry lint: exit 0 for clean files, 1 for errors, 2 for usage") {
  CHECK(run("$G lint examples/Jenkinsfile examples/pipeline.gantry.yml").status == 0);
  CHECK(run("$G lint tests/fixtures/pipelines/err/several_errors.groovy").status == 1);
  CHECK(run("$G lint").status == 2);
  CHECK(run("$G lint --bogus examples/Jenkinsfile").status == 2);
  CHECK(run("$G lint /nonexistent/Jenkinsfile").status == 2);
  CHECK(run("$G frobnicate").status == 2);
}

TEST_CASE("gantry lint: warnings pass unless --strict") {
  const char* file = "tests/fixtures/pipelines/ok/allman_and_scripts.groovy";
  CHECK(run(std::string("$G lint ") + file).status == 0);
  CHECK(run(std::string("$G lint --strict ") + file).status == 1);
}

TEST_CASE("gantry lint: reads stdin with '-'") {
  Result r = run("$G lint - < tests/fixtures/pipelines/err/missing_brace.groovy");
  CHECK(r.status == 1);
  CHECK(r.out.find("<stdin>:10:1: error: expected '}'") != std::string::npos);
  CHECK(run("printf 'pipeline { agent any\\n stages { stage(\"a\") { steps { echo \"x\" } } } }' | "
            "$G lint -")
            .status == 0);
}

TEST_CASE("gantry lint --format json: diagnostics with line and column") {
  Result r = run("$G lint --format json tests/fixtures/pipelines/err/bad_triggers.groovy");
  CHECK(r.status == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["errors"] == 2);
  const auto& d = j["files"][0]["diagnostics"][0];
  CHECK(d["severity"] == "error");
  CHECK(d["line"] == 4);
  CHECK(d["column"] == 14);
  CHECK(d["message"].get<std::string>().find("minute 61 is out of range 0-59") !=
        std::string::npos);
}

TEST_CASE("gantry plan: text and json, same plan from both forms") {
  Result text = run("$G plan examples/Jenkinsfile");
  CHECK(text.status == 0);
  CHECK(text.out.find("gate: deploy production (canary 10,50,100") != std::string::npos);
  Result groovy = run("$G plan --json examples/Jenkinsfile");
  Result yaml = run("$G plan --json examples/pipeline.gantry.yml");
  CHECK(groovy.status == 0);
  CHECK(groovy.out == yaml.out);
  auto j = nlohmann::json::parse(groovy.out);
  CHECK(j["stages"].size() == 5);
  CHECK(j["stages"][2]["after"][0] == "Test");
  CHECK(run("$G plan tests/fixtures/pipelines/err/no_pipeline.groovy").status == 1);
}

TEST_CASE("gantry --version and the daemons' placeholders") {
  CHECK(run("$G --version").out.rfind("gantry ", 0) == 0);
  CHECK(run("$G runs").status == 2);  // needs the controller: says so, exit 2
}

TEST_CASE("gantry plan --env --config: the gates on the way to an environment") {
  std::string dir = "/tmp/gantry-plan-env-" + std::to_string(::getpid());
  std::string cfg = dir + "/controller.yml";
  run("mkdir -p " + dir +
      " && printf '%s\\n' 'users:' "
      "'  - {name: rosa, role: release-manager, groups: [rm], token: t1}' "
      "'environments:' '  staging: {}' "
      "'  production: {gmud: {approvers: [rm], min_approvals: 1}}' > " +
      cfg);
  Result r = run("$G plan examples/demo/Jenkinsfile --env production --config " + cfg);
  CHECK(r.status == 0);
  CHECK(r.out.find("Production: GMUD change request for production") != std::string::npos);
  CHECK(r.out.find("needs 1 approval from rm (may approve: rosa;") != std::string::npos);
  r = run("$G plan examples/demo/Jenkinsfile --env staging --config " + cfg);
  CHECK(r.out.find("Staging: deploys to staging, which has no GMUD: no gate") != std::string::npos);
  r = run("$G plan examples/demo/Jenkinsfile --env production --config /nonexistent.yml");
  CHECK(r.status == 2);
  run("rm -rf " + dir);
}

TEST_CASE("every command answers --help and -h with its usage, an example and its exit status") {
  for (const char* cmd :
       {"lint",    "plan",  "trigger",  "runs",  "show",      "logs",      "wait",   "watch",
        "cancel",  "retry", "agents",   "repos", "approvals", "approve",   "reject", "releases",
        "promote", "abort", "rollback", "audit", "run",       "artifacts", "tests"}) {
    INFO(cmd);
    for (const char* flag : {"--help", "-h"}) {
      Result r = run(std::string("$G ") + cmd + " " + flag);
      CHECK(r.status == 0);
      CHECK(r.out.rfind(std::string("usage: gantry ") + cmd, 0) == 0);
      CHECK(r.out.find("example") != std::string::npos);
      CHECK(r.out.find("exit status") != std::string::npos);
    }
    // Also after other arguments, and as `gantry help CMD`: nothing is run.
    CHECK(run(std::string("$G ") + cmd + " 12 --help").status == 0);
    CHECK(run(std::string("$G help ") + cmd).out.rfind(std::string("usage: gantry ") + cmd, 0) ==
          0);
  }
  CHECK(run("$G help nothing").status == 2);
}

TEST_CASE("usage errors have one shape: the command, what is wrong, where the usage is") {
  struct Case {
    const char* args;
    const char* says;
  };
  for (const Case& c : {Case{"runs --bogus", "gantry: runs: unknown option '--bogus'"},
                        Case{"show", "gantry: show: give a run"},
                        Case{"show abc", "gantry: show: 'abc' is not a run"},
                        Case{"logs", "gantry: logs: give a run"},
                        Case{"trigger", "gantry: trigger: give the repository"},
                        Case{"trigger --repo", "gantry: trigger: --repo needs"},
                        Case{"runs --limit 0", "gantry: runs: --limit needs a number"},
                        Case{"show 3 4", "gantry: show: unexpected argument '4'"},
                        Case{"approve", "gantry: approve: give a change request"},
                        Case{"reject GMUD-1", "gantry: reject: a rejection needs --comment"},
                        Case{"lint --bogus x", "gantry: lint: unknown option '--bogus'"},
                        Case{"audit nonsense", "gantry: audit: unexpected argument"},
                        Case{"run --workspace nowhere", "gantry: run: --workspace is copy"}}) {
    INFO(c.args);
    Result r = run(std::string("{ $G ") + c.args + " 2>&1; }");
    CHECK(r.status == 2);
    CHECK(r.out.rfind(c.says, 0) == 0);
    CHECK(r.out.find("--help") != std::string::npos);
  }
  // Nobody listening: the error says how to name the server.
  Result refused = run("{ GANTRY_SERVER=http://127.0.0.1:1 $G runs 2>&1; }");
  CHECK(refused.status == 2);
  CHECK(refused.out.find("GANTRY_SERVER") != std::string::npos);
}
