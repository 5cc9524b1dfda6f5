// The examples in docs/ are checked here so they cannot drift from the code:
// every complete Jenkinsfile in docs/pipeline-language.md loads without
// errors, and each is followed by its YAML twin, which must give the same
// plan. The YAML/Groovy fixture pairs (tests/fixtures/pipelines/pairs/) must
// give the same plan too.
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"
#include "test_files.hpp"

using namespace gantry::pipelines;
namespace fs = std::filesystem;

namespace {

struct Block {
  std::string lang;
  std::string text;
  size_t line = 0;
};

std::vector<Block> fenced_blocks(const std::string& markdown) {
  std::vector<Block> out;
  std::istringstream in(markdown);
  std::string line;
  size_t n = 0;
  Block* open = nullptr;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("```", 0) == 0) {
      if (open) {
        open = nullptr;
      } else {
        out.push_back(Block{line.substr(3), "", n});
        open = &out.back();
      }
      continue;
    }
    if (open) open->text += line + "\n";
  }
  return out;
}

std::string plan_of(const std::string& text, SourceFormat format, const std::string& where) {
  LoadResult r = load_pipeline(text, format);
  INFO(where << "\n" << render_all(r.diagnostics, where, text));
  REQUIRE(r.pipeline.has_value());
  return plan_to_json(make_plan(*r.pipeline));
}

}  // namespace

TEST_CASE("docs: every pipeline-language.md example loads and matches its YAML twin") {
  auto doc = gantry::testing::source_dir() / "docs" / "pipeline-language.md";
  auto blocks = fenced_blocks(gantry::testing::read_file(doc));
  size_t pairs = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i].lang != "groovy" || blocks[i].text.rfind("pipeline {", 0) != 0) continue;
    std::string where = "docs/pipeline-language.md:" + std::to_string(blocks[i].line);
    std::string groovy_plan = plan_of(blocks[i].text, SourceFormat::Jenkinsfile, where);
    INFO(where << ": each Jenkinsfile example is followed by its ```yaml twin");
    REQUIRE(i + 1 < blocks.size());
    REQUIRE(blocks[i + 1].lang == "yaml");
    std::string yaml_where = "docs/pipeline-language.md:" + std::to_string(blocks[i + 1].line);
    CHECK(plan_of(blocks[i + 1].text, SourceFormat::Yaml, yaml_where) == groovy_plan);
    ++pairs;
  }
  CHECK(pairs >= 12);
}

TEST_CASE("docs: fixture pairs give the same plan in both forms") {
  size_t pairs = 0;
  for (const auto& e : fs::directory_iterator(gantry::testing::fixtures_dir() / "pairs")) {
    if (e.path().extension() != ".groovy") continue;
    std::string name = e.path().stem().string();
    if (name.find("unknown_keys") != std::string::npos) continue;  // errors on purpose
    fs::path yaml = e.path().parent_path() / (name + ".gantry.yml");
    REQUIRE(fs::exists(yaml));
    std::string g =
        plan_of(gantry::testing::read_file(e.path()), SourceFormat::Jenkinsfile, e.path().string());
    std::string y = plan_of(gantry::testing::read_file(yaml), SourceFormat::Yaml, yaml.string());
    INFO(name);
    CHECK(g == y);
    ++pairs;
  }
  CHECK(pairs >= 10);
}
