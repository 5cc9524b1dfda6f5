// Inputs the fuzzer once crashed or hung on (tests/fixtures/pipelines/fuzz/),
// replayed through the same entry as fuzz/fuzz_parser.cpp: the first byte
// selects the form. Each must load without crashing, in either form.
#include <catch2/catch.hpp>
#include <filesystem>

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"
#include "test_files.hpp"

using namespace gantry::pipelines;
namespace fs = std::filesystem;

TEST_CASE("fuzz regressions: saved crashers load without crashing") {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(gantry::testing::fixtures_dir() / "fuzz")) {
    std::string data = gantry::testing::read_file(e.path());
    if (data.empty()) continue;
    ++n;
    INFO(e.path().filename().string());
    auto format = (data[0] & 1) != 0 ? SourceFormat::Yaml : SourceFormat::Jenkinsfile;
    std::string_view source = std::string_view(data).substr(1);
    LoadResult r = load_pipeline(source, format);
    std::string rendered = render_all(r.diagnostics, "fuzz", source);
    if (r.pipeline) plan_to_json(make_plan(*r.pipeline));
    SUCCEED();
  }
  CHECK(n > 0);
}

TEST_CASE("fuzz regressions: deep nesting is refused, not a stack overflow") {
  std::string deep = "pipeline { agent any\n stages { stage('x') { steps { script {";
  for (int i = 0; i < 100000; ++i) deep += "(";
  LoadResult r = load_pipeline(deep, SourceFormat::Jenkinsfile);
  CHECK(r.diagnostics.has_errors());
  std::string nested_strings = "x = ";
  for (int i = 0; i < 5000; ++i) nested_strings += "\"${";
  LoadResult r2 = load_pipeline(nested_strings, SourceFormat::Jenkinsfile);
  CHECK(r2.diagnostics.has_errors());
  std::string lists = "x = ";
  for (int i = 0; i < 100000; ++i) lists += "[";
  LoadResult r3 = load_pipeline(lists, SourceFormat::Jenkinsfile);
  CHECK(r3.diagnostics.has_errors());
}

TEST_CASE("fuzz regressions: long operator and member chains are bounded") {
  // Each link nests the tree a level deeper; unbounded, destroying the tree
  // overflowed the stack.
  std::string ors = "a";
  for (int i = 0; i < 200000; ++i) ors += " || a";
  Diagnostics d;
  CHECK(parse_expression(ors, Pos{1, 1}, d) == nullptr);
  CHECK(d.has_errors());
  std::string members = "a";
  for (int i = 0; i < 200000; ++i) members += ".b";
  Diagnostics d2;
  CHECK(parse_expression(members, Pos{1, 1}, d2) == nullptr);
  CHECK(d2.has_errors());
  // A long but reasonable chain still parses.
  std::string short_chain = "a";
  for (int i = 0; i < 50; ++i) short_chain += " && a";
  Diagnostics d3;
  CHECK(parse_expression(short_chain, Pos{1, 1}, d3) != nullptr);
}
