#include "gantry/pipelines/loader.hpp"

#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/model_builder.hpp"
#include "gantry/pipelines/yaml_frontend.hpp"

namespace gantry::pipelines {

SourceFormat format_for_path(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  return ends_with(".yml") || ends_with(".yaml") ? SourceFormat::Yaml : SourceFormat::Jenkinsfile;
}

LoadResult load_pipeline(std::string_view source, SourceFormat format) {
  LoadResult result;
  NodePtr root = format == SourceFormat::Yaml ? parse_yaml_pipeline(source, result.diagnostics)
                                              : parse_groovy(source, result.diagnostics);
  // With syntax errors the tree is partial: validating it would report
  // follow-on errors (a step lost to an unterminated string makes "no steps"),
  // listed before the real cause. So every syntax error is reported, and the
  // structural checks run once the file parses.
  if (!result.diagnostics.has_errors()) {
    std::optional<Pipeline> pipeline = build_model(*root, result.diagnostics);
    if (!result.diagnostics.has_errors()) {
      result.pipeline = std::move(pipeline);
      result.tree = std::move(root);
    }
  }
  result.diagnostics.sort();
  return result;
}

}  // namespace gantry::pipelines
