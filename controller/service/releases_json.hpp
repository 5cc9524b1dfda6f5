#pragma once
// JSON of the release ledger for GET /api/v1/releases[/ID] (SPEC §10:
// {"id": "R-1", "environment", "status", "run", "commit", "previous"}, plus
// stage, strategy, gmud, reason, times and whether it is its environment's
// current release). Pure functions; nlohmann_json stays in releases_json.cpp.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/records.hpp"

namespace gantry::controller {

std::string release_name(int64_t id);                         // "R-3"
bool parse_release_id(const std::string& text, int64_t& id);  // "R-3" or "3"
// `progress`: where an in_progress release is ("canary at 25%: analysis").
std::string release_json(const ReleaseRecord& r, bool current, const std::string& progress = {});
// The answer to a rollback: {"release": "R-3", "run": 12}.
std::string rollback_started_json(const ReleaseRecord& r, int64_t run_id);
// `current`: environment -> its current release id (0: none).
std::string releases_json(const std::vector<ReleaseRecord>& list,
                          const std::map<std::string, int64_t>& current,
                          const std::map<int64_t, std::string>& progress = {});

}  // namespace gantry::controller
