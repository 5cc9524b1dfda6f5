#include "service/releases_json.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace gantry::controller {

using nlohmann::json;

namespace {

json release_object(const ReleaseRecord& r, bool current, const std::string& progress) {
  return {{"id", release_name(r.id)},
          {"progress", progress},
          {"environment", r.environment},
          {"status", to_string(r.status)},
          {"current", current},
          {"run", r.run_id},
          {"stage", r.stage_id},
          {"repo", r.repo},
          {"commit", r.commit},
          {"strategy", r.strategy},
          {"previous", r.previous ? json(release_name(r.previous)) : json(nullptr)},
          {"gmud", r.gmud ? json("GMUD-" + std::to_string(r.gmud)) : json(nullptr)},
          {"reason", r.reason},
          {"created_at", r.created_at},
          {"finished_at", r.finished_at},
          {"rollback_run", r.rollback_run ? json(r.rollback_run) : json(nullptr)},
          {"rolled_back_by", r.rolled_back_by}};
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string release_name(int64_t id) {
  return "R-" + std::to_string(id);
}

bool parse_release_id(const std::string& text, int64_t& id) {
  std::string digits = text.rfind("R-", 0) == 0 || text.rfind("r-", 0) == 0 ? text.substr(2) : text;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  return ec == std::errc() && p == digits.data() + digits.size() && id > 0;
}

std::string release_json(const ReleaseRecord& r, bool current, const std::string& progress) {
  return dump(release_object(r, current, progress));
}

std::string rollback_started_json(const ReleaseRecord& r, int64_t run_id) {
  return dump({{"release", release_name(r.id)}, {"run", run_id}});
}

std::string releases_json(const std::vector<ReleaseRecord>& list,
                          const std::map<std::string, int64_t>& current,
                          const std::map<int64_t, std::string>& progress) {
  json items = json::array();
  for (const ReleaseRecord& r : list) {
    auto c = current.find(r.environment);
    auto p = progress.find(r.id);
    items.push_back(release_object(r, c != current.end() && c->second == r.id,
                                   p == progress.end() ? "" : p->second));
  }
  return dump({{"releases", items}});
}

}  // namespace gantry::controller
