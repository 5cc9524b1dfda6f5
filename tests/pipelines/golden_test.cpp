// Golden tests: diagnostics of tests/fixtures/pipelines/err/* and plans of
// tests/fixtures/pipelines/ok/* are compared verbatim with the files beside
// them (*.err, *.plan). GANTRY_UPDATE_GOLDEN=1 rewrites them; review the diff.
#include <catch2/catch.hpp>
#include <filesystem>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"
#include "test_files.hpp"

using namespace gantry::pipelines;
namespace fs = std::filesystem;
using gantry::testing::fixtures_dir;
using gantry::testing::read_file;

namespace {

std::vector<fs::path> inputs(const std::string& sub) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fixtures_dir() / sub)) {
    auto ext = e.path().extension();
    if (ext == ".groovy" || ext == ".yml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void compare(const fs::path& expected_path, const std::string& actual) {
  if (gantry::testing::update_golden()) {
    gantry::testing::write_file(expected_path, actual);
    return;
  }
  INFO("golden file " << expected_path.string() << " (GANTRY_UPDATE_GOLDEN=1 rewrites it)");
  REQUIRE(fs::exists(expected_path));
  CHECK(read_file(expected_path) == actual);
}

}  // namespace

TEST_CASE("golden: broken pipelines give these exact diagnostics") {
  auto files = inputs("err");
  REQUIRE(files.size() >= 8);
  for (const auto& path : files) {
    std::string source = read_file(path);
    LoadResult r = load_pipeline(source, format_for_path(path.string()));
    INFO(path.filename().string());
    CHECK(r.diagnostics.has_errors());
    CHECK_FALSE(r.pipeline.has_value());
    compare(path.string() + ".err", render_all(r.diagnostics, path.filename().string(), source));
  }
}

TEST_CASE("golden: valid pipelines give these exact plans") {
  auto files = inputs("ok");
  REQUIRE(files.size() >= 2);
  for (const auto& path : files) {
    std::string source = read_file(path);
    LoadResult r = load_pipeline(source, format_for_path(path.string()));
    INFO(path.filename().string() << "\n"
                                  << render_all(r.diagnostics, path.filename().string(), source));
    REQUIRE(r.pipeline.has_value());
    std::string out = render_all(r.diagnostics, path.filename().string(), source);
    out += plan_to_text(make_plan(*r.pipeline));
    compare(path.string() + ".plan", out);
  }
}
