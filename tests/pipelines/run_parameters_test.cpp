// Which parameters a run may be started with: declared ones only, checked
// against their type and choices, never one of Gantry's or a shell's
// start-up variables.
#include <catch2/catch.hpp>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/run_parameters.hpp"

using namespace gantry::pipelines;

namespace {

LoadResult load(const std::string& source) {
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  REQUIRE(r.pipeline);
  return r;
}

const char* kDeclared = R"(pipeline {
  agent any
  parameters {
    string(name: 'GREETING', defaultValue: 'hi')
    choice(name: 'REGION', choices: ['eu', 'us'])
    booleanParam(name: 'LOUD', defaultValue: false)
  }
  stages { stage('A') { steps { sh 'true' } } }
})";

}  // namespace

TEST_CASE("declared parameters are accepted, checked against their type and choices",
          "[parameters]") {
  LoadResult loaded = load(kDeclared);
  const Pipeline& p = *loaded.pipeline;
  CHECK(check_run_parameters(p, {}) == "");
  CHECK(check_run_parameters(p, {{"GREETING", "hello"}, {"REGION", "us"}, {"LOUD", "true"}}) == "");
  CHECK(check_run_parameters(p, {{"REGION", "mars"}}) == "parameter REGION must be one of: eu, us");
  CHECK(check_run_parameters(p, {{"LOUD", "yes"}}) ==
        "parameter LOUD is a booleanParam: true or false");
  CHECK(check_run_parameters(p, {{"NOPE", "x"}}) ==
        "parameter NOPE is not declared by the pipeline (it declares: GREETING, REGION, LOUD)");
  LoadResult none = load("pipeline { agent any\n stages { stage('A') { steps { sh 'true' } } } }");
  CHECK(check_run_parameters(*none.pipeline, {{"X", "1"}}) ==
        "parameter X is not declared by the pipeline (it declares none)");
}

TEST_CASE("Gantry's variables and shell start-up variables are never parameters", "[parameters]") {
  for (const char* name : {"GIT_COMMIT", "BUILD_NUMBER", "RUN_ID", "JOB_NAME", "BRANCH_NAME",
                           "CHANGE_AUTHOR", "RELEASE_ID", "GANTRY_AGENT_TOKEN"}) {
    INFO(name);
    CHECK(reserved_parameter(name) ==
          "parameter " + std::string(name) + " is set by Gantry itself and cannot be given");
  }
  for (const char* name :
       {"PATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "BASH_ENV", "ENV", "IFS", "BASH_FUNC_x%%"}) {
    INFO(name);
    CHECK_FALSE(reserved_parameter(name).empty());
  }
  CHECK(reserved_parameter("1X").find("is not a variable name") != std::string::npos);
  CHECK(reserved_parameter("A=B").find("is not a variable name") != std::string::npos);
  CHECK(reserved_parameter("GREETING") == "");
  // Even when the pipeline declares it.
  LoadResult p = load(R"(pipeline {
  agent any
  parameters { string(name: 'GIT_COMMIT', defaultValue: '') }
  stages { stage('A') { steps { sh 'true' } } }
})");
  CHECK_FALSE(check_run_parameters(*p.pipeline, {{"GIT_COMMIT", "0000000-forged"}}).empty());
}

TEST_CASE("params as Groovy sees them: defaults applied and booleanParam a boolean",
          "[parameters]") {
  LoadResult r = load(R"(pipeline {
  agent any
  parameters {
    booleanParam(name: 'DEPLOY', defaultValue: true)
    booleanParam(name: 'DRY')
    string(name: 'GREETING', defaultValue: 'hi')
  }
  stages { stage('A') { steps { sh 'true' } } }
})");
  std::map<std::string, Value> p = typed_parameters(*r.pipeline, {});
  // A booleanParam defaulting to true is true (it was unset, so `expression { params.DEPLOY }`
  // was false and stages were skipped silently).
  CHECK(p.at("DEPLOY") == Value(true));
  CHECK(p.at("DRY") == Value(false));
  CHECK(p.at("GREETING") == Value(std::string("hi")));
  // Given as text from the API or the CLI: "false" is false, not a truthy string.
  p = typed_parameters(*r.pipeline, {{"DEPLOY", "false"}, {"GREETING", "yo"}, {"OTHER", "x"}});
  CHECK(p.at("DEPLOY") == Value(false));
  CHECK_FALSE(p.at("DEPLOY").truthy());
  CHECK(p.at("GREETING") == Value(std::string("yo")));
  CHECK(p.at("OTHER") == Value(std::string("x")));
}
