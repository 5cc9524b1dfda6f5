#include "cli_json.hpp"

#include <nlohmann/json.hpp>

namespace gantry::cli {

std::string lint_reports_to_json(const std::vector<LintReport>& reports) {
  nlohmann::ordered_json j;
  auto& files = j["files"] = nlohmann::ordered_json::array();
  size_t errors = 0;
  size_t warnings = 0;
  for (const auto& r : reports) {
    nlohmann::ordered_json f;
    f["file"] = r.file;
    f["errors"] = r.diagnostics.error_count();
    f["warnings"] = r.diagnostics.warning_count();
    auto& list = f["diagnostics"] = nlohmann::ordered_json::array();
    for (const auto& d : r.diagnostics.all()) {
      list.push_back({{"severity", d.severity == pipelines::Severity::Error ? "error" : "warning"},
                      {"line", d.pos.line},
                      {"column", d.pos.col},
                      {"message", d.message}});
    }
    errors += r.diagnostics.error_count();
    warnings += r.diagnostics.warning_count();
    files.push_back(std::move(f));
  }
  j["errors"] = errors;
  j["warnings"] = warnings;
  // Invalid UTF-8 in a message (from a hostile file) must not throw.
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace gantry::cli
