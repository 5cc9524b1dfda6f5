#pragma once
// JSON of the reports a run's pipeline published (docs/reports.md): publishHTML's reports and
// recordIssues' summaries, in the run's JSON and at GET /api/v1/runs/{id}/issues. The agent
// wrote the stored texts; a text that is not the JSON expected is skipped, never trusted.
// nlohmann_json stays in reports_json.cpp. Pure functions.

#include <string>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace gantry::controller {

// A stored record and its file's text.
using StoredText = std::pair<ArtifactRecord, std::string>;

// `run_json` with "reports": [{name, title, stage, files, count, bytes, url, links: [{file,
// url}]}] and "issues": {total, by_severity, by_tool, result, url, summaries: [{id, name,
// stage, total, by_severity, by_tool, gates, result}]} added (each absent when there is none).
std::string run_with_reports(const std::string& run_json, int64_t run_id,
                             const std::vector<StoredText>& reports,
                             const std::vector<StoredText>& issues);

// GET .../issues: {"summaries": [the stored summaries, each with its "stage"]}.
std::string issues_json(const std::vector<StoredText>& issues);

// "/api/v1/runs/ID/reports/NAME/PATH" with the name and each path segment percent-encoded.
std::string report_url(int64_t run_id, const std::string& name, const std::string& path);

}  // namespace gantry::controller
