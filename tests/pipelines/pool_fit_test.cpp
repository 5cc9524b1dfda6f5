// gantry lint/plan --agents (pool_fit.hpp): the label each stage needs once agents are
// inherited, container agents adding the docker capability, matched against a pool.
#include <catch2/catch.hpp>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/pool_fit.hpp"

using namespace gantry::pipelines;

namespace {

std::vector<StageFit> fit(const std::string& source, const std::vector<PoolAgent>& pool) {
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  INFO(render_all(r.diagnostics, "Jenkinsfile", source));
  REQUIRE(r.pipeline);
  return fit_to_pool(*r.pipeline, pool);
}

const std::vector<PoolAgent> kPool = {
    {"plain", {"plain", "linux"}},
    {"boxed", {"boxed", "linux", "docker", "docker:podman"}},
    {"arm", {"arm", "arm", "docker"}},
};

}  // namespace

TEST_CASE("container agents need the docker capability, with their label if any") {
  auto fits = fit(R"(pipeline {
  agent { label 'linux' }
  stages {
    stage('Build') { steps { sh 'make' } }
    stage('Image') { agent { docker { image 'node:20' } }; steps { sh 'true' } }
    stage('Labelled') { agent { docker { image 'x'; label 'linux' } }; steps { sh 'true' } }
    stage('Reuse') { agent { docker { image 'x'; reuseNode true } }; steps { sh 'true' } }
    stage('File') { agent { dockerfile true }; steps { sh 'true' } }
    stage('Pod') { agent { kubernetes { yaml 'spec: {}' } }; steps { sh 'true' } }
    stage('Any') { agent any; steps { sh 'true' } }
  }
})",
                  kPool);
  REQUIRE(fits.size() == 7);
  // The Reuse stage runs on the pipeline's agent: that agent needs an engine too.
  CHECK(fits[0].label == "(linux) && docker");
  CHECK(fits[0].agents == std::vector<std::string>{"boxed"});
  CHECK(fits[1].label == "docker");
  CHECK(fits[1].agents == std::vector<std::string>{"boxed", "arm"});
  CHECK(fits[2].label == "(linux) && docker");
  CHECK(fits[2].agents == std::vector<std::string>{"boxed"});
  CHECK(fits[3].label == "(linux) && docker");  // the enclosing agent's, plus the engine
  CHECK(fits[4].label == "docker");
  CHECK(fits[5].label == "docker");
  CHECK(fits[6].label.empty());
  CHECK(fits[6].agents.size() == 3);
  fits = fit(R"(pipeline {
  agent { label 'linux' }
  stages { stage('Build') { steps { sh 'make' } } }
})",
             kPool);
  CHECK(fits[0].label == "linux");
  CHECK(fits[0].agents == std::vector<std::string>{"plain", "boxed"});
}

TEST_CASE("a stage no agent of the pool can take has no agents, nested stages included") {
  auto fits = fit(R"(pipeline {
  agent none
  stages {
    stage('Group') {
      agent { label 'windows' }
      stages { stage('Inner') { steps { echo 'x' } } }
    }
    stage('Par') {
      parallel {
        stage('A') { agent { docker { image 'x'; label 'arm' } }; steps { echo 'a' } }
        stage('B') { agent { label params.NODE }; steps { echo 'b' } }
      }
    }
  }
})",
                  {kPool[0]});
  REQUIRE(fits.size() == 3);
  CHECK(fits[0].stage_id == "Group / Inner");
  CHECK(fits[0].agents.empty());
  CHECK(fits[1].stage_id == "Par / A");
  CHECK(fits[1].label == "(arm) && docker");
  CHECK(fits[1].agents.empty());
  CHECK(fits[2].evaluated);  // decided when the run starts
}

TEST_CASE("a kubernetes agent without a pod spec is a lint warning, not silence") {
  const std::string source = R"(pipeline {
  agent { kubernetes { inheritFrom 'maven'; defaultContainer 'maven' } }
  stages { stage('Build') { steps { sh 'mvn -v' } } }
})";
  LoadResult r = load_pipeline(source, SourceFormat::Jenkinsfile);
  REQUIRE(r.pipeline);
  std::string text = render_all(r.diagnostics, "Jenkinsfile", source);
  CHECK(text.find("2:11: warning: this kubernetes agent gives no pod (yaml or yamlFile)") !=
        std::string::npos);
  const std::string with_pod = R"(pipeline {
  agent { kubernetes { yaml 'spec: {containers: [{name: a, image: b}]}' } }
  stages { stage('Build') { steps { sh 'true' } } }
})";
  CHECK(load_pipeline(with_pod, SourceFormat::Jenkinsfile).diagnostics.warning_count() == 0);
}
