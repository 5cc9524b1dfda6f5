// JSON text for the store's map and list columns (params, agent labels).
#include <nlohmann/json.hpp>

#include "gantry/common/log.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

std::string encode_string_map(const std::map<std::string, std::string>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values) j[k] = v;
  // Replace invalid UTF-8 rather than throw: params are user input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_string_map(std::string_view text, std::map<std::string, std::string>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return true;
}

std::string encode_string_list(const std::vector<std::string>& values) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : values) j.push_back(v);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_string_list(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return true;
}

std::string encode_instigators(const std::vector<InstigatorRecord>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const InstigatorRecord& i : list)
    j.push_back({{"name", i.name}, {"email", i.email}, {"what", i.what}});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_instigators(std::string_view text, std::vector<InstigatorRecord>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (!v.is_object()) continue;
    out.push_back({v.value("name", ""), v.value("email", ""), v.value("what", "")});
  }
  return true;
}

std::string encode_changes(const std::vector<ChangeRecord>& changes) {
  nlohmann::json j = nlohmann::json::array();
  for (const ChangeRecord& c : changes) {
    j.push_back({{"sha", c.sha},
                 {"author", c.author},
                 {"author_email", c.author_email},
                 {"committer", c.committer},
                 {"committer_email", c.committer_email},
                 {"message", c.message},
                 {"time", c.time},
                 {"paths", c.paths}});
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_changes(std::string_view text, std::vector<ChangeRecord>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  auto str = [](const nlohmann::json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  for (const auto& o : j) {
    if (!o.is_object()) return false;
    ChangeRecord c;
    c.sha = str(o, "sha");
    c.author = str(o, "author");
    c.author_email = str(o, "author_email");
    c.committer = str(o, "committer");
    c.committer_email = str(o, "committer_email");
    c.message = str(o, "message");
    if (auto t = o.find("time"); t != o.end() && t->is_number_integer()) c.time = t->get<int64_t>();
    if (auto p = o.find("paths"); p != o.end() && p->is_array()) {
      for (const auto& path : *p) {
        if (path.is_string()) c.paths.push_back(path.get<std::string>());
      }
    }
    out.push_back(std::move(c));
  }
  return true;
}

std::string encode_progress(const StageRecord& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.gates.empty()) {
    nlohmann::json gates = nlohmann::json::array();
    for (GateKind g : s.gates) gates.push_back(to_string(g));
    j["gates"] = std::move(gates);
  }
  if (!s.gate_values.empty()) j["values"] = s.gate_values;
  if (!s.attempt_names.empty()) j["attempt_names"] = s.attempt_names;
  const Rollout& r = s.rollout;
  if (r.phase != CanaryPhase::None) {
    const std::string_view outcome = r.outcome ? to_string(*r.outcome) : "";
    j["rollout"] = {{"phase", to_string(r.phase)},
                    {"weight", r.weight},
                    {"failures", r.failures},
                    {"tries", r.tries},
                    {"until", r.until},
                    {"abort", r.abort},
                    {"result", r.result},
                    {"reason", r.reason},
                    {"outcome", outcome}};
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_progress(std::string_view text, StageRecord& s) {
  s.gates.clear();
  s.gate_values.clear();
  s.rollout = {};
  s.attempt_names.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  if (auto n = j.find("attempt_names"); n != j.end() && n->is_array()) {
    for (const auto& v : *n) s.attempt_names.push_back(v.is_string() ? v.get<std::string>() : "");
  }
  if (auto g = j.find("gates"); g != j.end() && g->is_array()) {
    for (const auto& v : *g) {
      // A gate this build does not know is not passed: it is asked again.
      std::optional<GateKind> kind =
          v.is_string() ? parse_gate_kind(v.get<std::string>()) : std::nullopt;
      if (kind) s.gates.insert(*kind);
    }
  }
  if (auto v = j.find("values"); v != j.end() && v->is_object()) {
    for (const auto& [k, value] : v->items()) {
      if (value.is_string()) s.gate_values[k] = value.get<std::string>();
    }
  }
  auto r = j.find("rollout");
  if (r == j.end() || !r->is_object()) return true;
  auto str = [&](const char* key) { return r->value(key, std::string()); };
  auto num = [&](const char* key) { return r->value(key, int64_t{0}); };
  // An unknown phase ends the deploy as it stands (its result, or failed)
  // rather than guessing where to go on.
  const std::string phase = str("phase");
  s.rollout.phase = parse_canary_phase(phase).value_or(CanaryPhase::Done);
  if (!parse_canary_phase(phase))
    log::warn("store", "column.unknown_word",
              {{"column", "stages.progress"},
               {"word", phase},
               {"read_as", std::string(to_string(CanaryPhase::Done))}});
  s.rollout.weight = static_cast<int>(num("weight"));
  s.rollout.failures = static_cast<int>(num("failures"));
  s.rollout.tries = static_cast<int>(num("tries"));
  s.rollout.until = num("until");
  s.rollout.abort = str("abort");
  s.rollout.result = str("result");
  s.rollout.reason = str("reason");
  s.rollout.outcome = parse_release_status(str("outcome"));
  return true;
}

}  // namespace gantry::controller
