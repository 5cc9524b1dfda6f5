// options { buildDiscarder(logRotator(...)) }: the forms Jenkins accepts,
// what the model reads from them, and the errors for the rest, verbatim.
#include <catch2/catch.hpp>

#include "gantry/pipelines/build_discarder.hpp"
#include "gantry/pipelines/loader.hpp"

using namespace gantry::pipelines;

namespace {

std::string jenkinsfile(const std::string& option) {
  return "pipeline {\n  agent any\n  options {\n    " + option +
         "\n  }\n  stages { stage('s') { steps { sh 'make' } } }\n}\n";
}

// The discarder of a pipeline that must load.
std::optional<BuildDiscarder> discarder_of(const std::string& source,
                                           SourceFormat format = SourceFormat::Jenkinsfile) {
  LoadResult r = load_pipeline(source, format);
  INFO(render_all(r.diagnostics, "Jenkinsfile", source));
  REQUIRE(r.pipeline.has_value());
  return build_discarder(*r.pipeline);
}

std::string diagnostics_of(const std::string& source) {
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  return render_all(r.diagnostics, "Jenkinsfile", source);
}

}  // namespace

TEST_CASE("buildDiscarder: the string keys, as Jenkins writes them") {
  auto d =
      discarder_of(jenkinsfile("buildDiscarder(logRotator(numToKeepStr: '10', daysToKeepStr: '30', "
                               "artifactNumToKeepStr: '5', artifactDaysToKeepStr: '7'))"));
  REQUIRE(d);
  CHECK(*d == BuildDiscarder{10, 30, 5, 7});
}

TEST_CASE("buildDiscarder: the integer keys, strategy:, and the two ways of saying no limit") {
  CHECK(discarder_of(jenkinsfile("buildDiscarder(logRotator(numToKeep: 3, daysToKeep: -1, "
                                 "artifactNumToKeep: 0, artifactDaysToKeep: 2))")) ==
        BuildDiscarder{3, -1, 0, 2});
  CHECK(discarder_of(jenkinsfile("buildDiscarder(strategy: logRotator(numToKeepStr: '1'))")) ==
        BuildDiscarder{1, -1, -1, -1});
  CHECK(discarder_of(jenkinsfile("buildDiscarder(logRotator(numToKeepStr: '', "
                                 "daysToKeepStr: '-1', artifactNumToKeepStr: '4'))")) ==
        BuildDiscarder{-1, -1, 4, -1});
  CHECK(discarder_of(jenkinsfile("buildDiscarder(logRotator())")) == BuildDiscarder{});
  CHECK_FALSE(discarder_of(jenkinsfile("timestamps()")));
}

TEST_CASE("buildDiscarder: the YAML form reads the same") {
  const std::string yaml = R"(agent: any
options:
  - buildDiscarder: {logRotator: {numToKeepStr: '10', artifactDaysToKeepStr: '7'}}
stages:
  - stage: s
    steps:
      - sh: make
)";
  CHECK(discarder_of(yaml, SourceFormat::Yaml) == BuildDiscarder{10, -1, -1, 7});
}

TEST_CASE("buildDiscarder: a value known only at run time warns and keeps everything") {
  const std::string source = jenkinsfile("buildDiscarder(logRotator(numToKeepStr: \"${N}\"))");
  CHECK(discarder_of(source) == BuildDiscarder{});
  CHECK(diagnostics_of(source) ==
        "Jenkinsfile:4:45: warning: logRotator numToKeepStr is only known at run time; Gantry "
        "reads buildDiscarder from the pipeline's text and keeps every run for this limit "
        "(write a number)\n"
        "    buildDiscarder(logRotator(numToKeepStr: \"${N}\"))\n"
        "                                            ^\n");
}

TEST_CASE("buildDiscarder: errors point at the offending argument") {
  struct Case {
    std::string option, error;
  };
  auto c = GENERATE(values<Case>({
      {"buildDiscarder(logRotator(numToKeepStr: 'ten'))",
       "Jenkinsfile:4:45: error: logRotator numToKeepStr must be a whole number, -1 or '' (no "
       "limit), not 'ten'\n"
       "    buildDiscarder(logRotator(numToKeepStr: 'ten'))\n"
       "                                            ^\n"},
      {"buildDiscarder(logRotator(numToKeep: -5))",
       "Jenkinsfile:4:42: error: logRotator numToKeep must be a whole number or -1 (no limit), "
       "not -5\n"
       "    buildDiscarder(logRotator(numToKeep: -5))\n"
       "                                         ^\n"},
      {"buildDiscarder(logRotator(numToKeepStr: '1', numToKeep: 2))",
       "Jenkinsfile:4:50: error: logRotator has both numToKeepStr and numToKeep\n"
       "    buildDiscarder(logRotator(numToKeepStr: '1', numToKeep: 2))\n"
       "                                                 ^\n"},
      {"buildDiscarder(logRotator(numToKeepStr: '1', numToKeepStr: '2'))",
       "Jenkinsfile:4:50: error: Duplicate named parameter 'numToKeepStr' found\n"
       "    buildDiscarder(logRotator(numToKeepStr: '1', numToKeepStr: '2'))\n"
       "                                                 ^\n"},
      {"buildDiscarder(logRotator(numToKeepStrr: '1'))",
       "Jenkinsfile:4:31: error: Invalid parameter \"numToKeepStrr\" for logRotator. Valid "
       "parameters: numToKeepStr, daysToKeepStr, artifactNumToKeepStr, artifactDaysToKeepStr, "
       "numToKeep, daysToKeep, artifactNumToKeep, artifactDaysToKeep\n"
       "    buildDiscarder(logRotator(numToKeepStrr: '1'))\n"
       "                              ^\n"},
      {"buildDiscarder(logRotator('10', '5'))",
       "Jenkinsfile:4:20: error: logRotator takes named arguments only: numToKeepStr, "
       "daysToKeepStr, artifactNumToKeepStr, artifactDaysToKeepStr, numToKeep, daysToKeep, "
       "artifactNumToKeep, artifactDaysToKeep\n"
       "    buildDiscarder(logRotator('10', '5'))\n"
       "                   ^\n"},
      {"buildDiscarder(enhancedOldBuildDiscarder(numToKeepStr: '1'))",
       "Jenkinsfile:4:20: error: buildDiscarder supports logRotator(...) only, as in "
       "buildDiscarder(logRotator(numToKeepStr: '10'))\n"
       "    buildDiscarder(enhancedOldBuildDiscarder(numToKeepStr: '1'))\n"
       "                   ^\n"},
  }));
  INFO(c.option);
  std::string source = jenkinsfile(c.option);
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  CHECK_FALSE(r.pipeline.has_value());
  CHECK(render_all(r.diagnostics, "Jenkinsfile", source) == c.error);
}
