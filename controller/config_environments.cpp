// The `environments` section (SPEC §7): the deploy targets a pipeline may
// name, and for each the GMUD policy that gates it. Windows and freezes are
// parsed here with the gate's own parsers, so a typo stops the controller at
// its line instead of silently never opening a window.
#include <charconv>

#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

// The item of `list` at `index`, for error positions.
YAML::Node item_at(const YAML::Node& list, size_t index) {
  size_t i = 0;
  for (const auto& item : list) {
    if (i++ == index) return item;
  }
  return list;
}

// A whole number from `lo` to `hi`, or a failure at `f` saying `message`.
bool whole_number(Reader& r, const Field& f, int64_t lo, int64_t hi, const std::string& message,
                  int64_t& out) {
  std::string text;
  if (!r.string(f, text)) return false;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi)
    return r.fail(f, message);
  out = n;
  return true;
}

bool read_gmud(Reader& r, const Field& f, const std::string& env, gmud::Policy& p) {
  Fields fs;
  const std::string what = "environments." + env + ".gmud";
  if (!r.fields(f.value, "'" + what + "'",
                {"approvers", "min_approvals", "windows", "freezes", "expires_after", "max_range"},
                fs))
    return false;
  const Field* approvers = fs.find("approvers");
  if (!approvers)
    return r.fail(f.key, "'" + what + "' needs 'approvers' (the groups that may approve)");
  if (!r.string_list(*approvers, p.approvers)) return false;
  if (p.approvers.empty()) return r.fail(*approvers, "'approvers' must name at least one group");
  if (const Field* m = fs.find("min_approvals")) {
    int64_t n = 0;
    if (!whole_number(r, *m, 1, 100, "'min_approvals' must be a whole number from 1 to 100", n))
      return false;
    p.min_approvals = static_cast<int>(n);
  }
  if (const Field* w = fs.find("windows")) {
    std::vector<std::string> texts;
    if (!r.string_list(*w, texts)) return false;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto parsed = gmud::parse_window(texts[i]);
      if (auto* e = std::get_if<std::string>(&parsed)) return r.fail(item_at(w->value, i), *e);
      p.windows.push_back(std::get<gmud::Window>(parsed));
    }
  }
  if (const Field* fr = fs.find("freezes")) {
    std::vector<std::string> texts;
    if (!r.string_list(*fr, texts)) return false;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto parsed = gmud::parse_freeze(texts[i]);
      if (auto* e = std::get_if<std::string>(&parsed)) return r.fail(item_at(fr->value, i), *e);
      p.freezes.push_back(std::get<gmud::Freeze>(parsed));
    }
  }
  if (const Field* m = fs.find("max_range")) {
    if (!whole_number(r, *m, 1, 10000000,
                      "'max_range' must be a whole number of commits from 1 to 10000000",
                      p.max_range))
      return false;
  }
  if (const Field* e = fs.find("expires_after")) {
    int64_t ms = 0;
    if (!r.duration(*e, ms)) return false;
    if (ms < 1000) return r.fail(*e, "'expires_after' must be at least 1s");
    p.expires_after_s = ms / 1000;
  }
  return true;
}

}  // namespace

bool read_environments(Reader& r, const Field& f, Config& c) {
  if (!f.value || f.value.IsNull()) return true;
  if (!f.value.IsMap()) return r.fail(f, "'environments' must be a map");
  Fields envs;
  if (!r.entries(f.value, "'environments'", envs)) return false;
  for (const Field& e : envs.all()) {
    if (e.name.empty() || e.name.size() > 100)
      return r.fail(e.key, "an environment name must have 1 to 100 characters");
    Fields fs;
    if (!r.fields(e.value, "'environments." + e.name + "'", {"gmud"}, fs)) return false;
    EnvironmentConfig env;
    env.name = e.name;
    if (const Field* g = fs.find("gmud")) {
      env.gated = true;
      if (!read_gmud(r, *g, e.name, env.policy)) return false;
    }
    c.environments[e.name] = std::move(env);
  }
  return true;
}

}  // namespace gantry::controller::config_detail
