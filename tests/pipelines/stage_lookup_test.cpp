#include "gantry/pipelines/stage_lookup.hpp"

#include <catch2/catch.hpp>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"

using namespace gantry::pipelines;

namespace {

constexpr std::string_view kPipeline = R"(
pipeline {
  agent any
  stages {
    stage('Build') { steps { sh 'make' } }
    stage('Test') {
      stages {
        stage('Unit') { steps { sh 'make test' } }
        stage('Lint / Style') { steps { sh 'make lint' } }
      }
    }
    stage('Par') {
      parallel {
        stage('A') { steps { echo 'a' } }
        stage('B') { steps { echo 'b' } }
      }
    }
    stage('Browsers') {
      matrix {
        axes {
          axis { name 'OS'; values 'linux', 'mac' }
          axis { name 'BROWSER'; values 'firefox', 'chrome' }
        }
        excludes {
          exclude {
            axis { name 'OS'; values 'mac' }
            axis { name 'BROWSER'; values 'firefox' }
          }
        }
        stages {
          stage('Run') { steps { sh 'run' } }
          stage('Report') { steps { sh 'report' } }
        }
      }
    }
  }
}
)";

Pipeline load() {
  LoadResult r = load_pipeline(kPipeline, SourceFormat::Jenkinsfile);
  INFO(render_all(r.diagnostics, "Jenkinsfile", kPipeline));
  REQUIRE(r.pipeline);
  return std::move(*r.pipeline);
}

}  // namespace

TEST_CASE("runnable stage ids are the plan's stage nodes, in plan order", "[stage_lookup]") {
  Pipeline p = load();
  std::vector<std::string> expected;
  for (const PlanNode& n : make_plan(p).nodes) {
    if (n.kind == "stage") expected.push_back(n.id);
  }
  CHECK(runnable_stage_ids(p) == expected);
  CHECK(expected.size() == 11);
}

TEST_CASE("every runnable id finds its stage, group ids find theirs", "[stage_lookup]") {
  Pipeline p = load();
  for (const std::string& id : runnable_stage_ids(p)) {
    INFO(id);
    StageLookup found = find_stage(p, id);
    REQUIRE(found.stage != nullptr);
    CHECK(id.ends_with(found.stage->name));
    CHECK(!found.stage->steps.empty());
  }
  StageLookup lint = find_stage(p, "Test / Lint / Style");
  REQUIRE(lint.stage);
  CHECK(lint.stage->name == "Lint / Style");
  StageLookup group = find_stage(p, "Test");
  REQUIRE(group.stage);
  CHECK(group.stage->stages.size() == 2);
  CHECK(find_stage(p, "Par / B").stage->name == "B");
}

TEST_CASE("matrix cell stages carry the matrix and the cell's axes", "[stage_lookup]") {
  Pipeline p = load();
  StageLookup found = find_stage(p, "Browsers / OS=mac, BROWSER=chrome / Report");
  REQUIRE(found.stage != nullptr);
  CHECK(found.stage->name == "Report");
  REQUIRE(found.matrix != nullptr);
  CHECK(found.matrix == find_stage(p, "Browsers").stage->matrix.get());
  CHECK(found.axes == MatrixCell{{"OS", "mac"}, {"BROWSER", "chrome"}});
  CHECK(find_stage(p, "Build").matrix == nullptr);
}

TEST_CASE("unknown ids, excluded cells and partial names find nothing", "[stage_lookup]") {
  Pipeline p = load();
  CHECK(find_stage(p, "").stage == nullptr);
  CHECK(find_stage(p, "Deploy").stage == nullptr);
  CHECK(find_stage(p, "Buil").stage == nullptr);
  CHECK(find_stage(p, "Test / Unit / More").stage == nullptr);
  CHECK(find_stage(p, "Browsers / OS=mac, BROWSER=firefox / Run").stage == nullptr);
  CHECK(find_stage(p, "Browsers / BROWSER=chrome, OS=mac / Run").stage == nullptr);
}

TEST_CASE("matrix_cells crosses axes in order and drops excludes", "[stage_lookup]") {
  Pipeline p = load();
  size_t excluded = 0;
  auto cells = matrix_cells(*find_stage(p, "Browsers").stage->matrix, &excluded);
  CHECK(excluded == 1);
  REQUIRE(cells.size() == 3);
  CHECK(cell_label(cells[0]) == "OS=linux, BROWSER=firefox");
  CHECK(cell_label(cells[2]) == "OS=mac, BROWSER=chrome");
}
