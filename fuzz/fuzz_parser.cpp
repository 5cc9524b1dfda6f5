// libFuzzer entry: any bytes through the whole pipeline front end (lexer,
// parser, YAML front end, model builder, planner, diagnostics rendering).
// The first byte picks the form so one corpus exercises both.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gantry::pipelines;
  if (size == 0) return 0;
  auto format = (data[0] & 1) != 0 ? SourceFormat::Yaml : SourceFormat::Jenkinsfile;
  std::string_view source(reinterpret_cast<const char*>(data) + 1, size - 1);
  LoadResult r = load_pipeline(source, format);
  std::string rendered = render_all(r.diagnostics, "fuzz", source);
  if (r.pipeline) {
    Plan plan = make_plan(*r.pipeline);
    std::string text = plan_to_text(plan);
    std::string json = plan_to_json(plan);
  }
  return 0;
}
