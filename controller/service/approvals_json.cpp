#include "service/approvals_json.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace gantry::controller {

using nlohmann::json;

namespace {

constexpr size_t kMaxComment = 4096;
constexpr size_t kMaxValue = 4096;
constexpr size_t kMaxValues = 100;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json input_spec(const ApprovalRecord& a) {
  json j = json::parse(a.parameters, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

json decisions_json(const ApprovalRecord& a, bool approve) {
  json out = json::array();
  for (const DecisionRecord& d : a.decisions) {
    if (d.approve == approve)
      out.push_back({{"user", d.user}, {"comment", d.comment}, {"at", d.at}});
  }
  return out;
}

// One parameter definition of an `input` step's question:
// {"name","type","default","description","choices"}, of the types the step takes.
bool parse_input_parameter(const json& p, GateRequest::Parameter& out, std::string& error) {
  if (!p.is_object()) {
    error = "an input parameter must be an object";
    return false;
  }
  auto field = [&](const char* key, std::string& to) {
    auto it = p.find(key);
    if (it == p.end()) return true;
    if (!it->is_string() || it->get<std::string>().size() > kMaxValue) return false;
    to = it->get<std::string>();
    return true;
  };
  if (!field("name", out.name) || !field("type", out.type) ||
      !field("default", out.default_value) || !field("description", out.description)) {
    error = "input parameter fields must be strings of at most 4096 bytes";
    return false;
  }
  if (out.name.empty() || out.name.size() > 200) {
    error = "an input parameter needs a name of at most 200 bytes";
    return false;
  }
  static const std::vector<std::string> kTypes = {"string", "text", "booleanParam", "choice",
                                                  "password"};
  if (std::find(kTypes.begin(), kTypes.end(), out.type) == kTypes.end()) {
    error = "input parameter '" + out.name +
            "': type must be string, text, booleanParam, choice or password";
    return false;
  }
  if (out.type == "booleanParam" && out.default_value.empty()) out.default_value = "false";
  if (out.type == "booleanParam" && out.default_value != "true" && out.default_value != "false") {
    error = "input parameter '" + out.name + "': a booleanParam's default is true or false";
    return false;
  }
  auto choices = p.find("choices");
  if (choices != p.end()) {
    bool ok = choices->is_array() && choices->size() <= kMaxValues;
    for (size_t i = 0; ok && i < choices->size(); ++i)
      ok = (*choices)[i].is_string() && (*choices)[i].get<std::string>().size() <= kMaxValue;
    if (!ok) {
      error = "input parameter '" + out.name +
              "': choices must be at most 100 strings of at most 4096 bytes";
      return false;
    }
    out.choices = choices->get<std::vector<std::string>>();
  }
  if (out.type == "choice") {
    if (out.choices.empty()) {
      error = "input parameter '" + out.name + "': a choice needs choices";
      return false;
    }
    out.default_value = out.choices.front();  // as Jenkins: the first choice
  } else if (!out.choices.empty()) {
    error = "input parameter '" + out.name + "': only a choice has choices";
    return false;
  }
  return true;
}

// What the API shows of a value: a password parameter's never.
json shown_values(const json& params, const std::map<std::string, std::string>& values) {
  json out = json::object();
  for (const auto& [name, v] : values) out[name] = v;
  for (const json& p : params) {
    std::string name = p.value("name", "");
    if (p.value("type", "") == "password" && out.contains(name)) out[name] = "****";
  }
  return out;
}

json shown_parameters(json params) {
  for (json& p : params) {
    if (p.is_object() && p.value("type", "") == "password") p["default"] = "";
  }
  return params;
}

}  // namespace

std::string approval_name(const ApprovalRecord& a) {
  return (a.kind == GateKind::Input ? "INPUT-" : "GMUD-") + std::to_string(a.id);
}

bool parse_approval_id(const std::string& text, int64_t& id) {
  std::string digits = text;
  for (const char* prefix : {"GMUD-", "INPUT-", "gmud-", "input-"}) {
    if (text.rfind(prefix, 0) == 0) digits = text.substr(std::char_traits<char>::length(prefix));
  }
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  return ec == std::errc() && p == digits.data() + digits.size() && id > 0;
}

std::string input_parameters_json(const GateRequest& g) {
  if (g.kind != GateKind::Input) return "";
  json params = json::array();
  for (const GateRequest::Parameter& p : g.parameters) {
    params.push_back({{"name", p.name},
                      {"type", p.type},
                      {"default", p.default_value},
                      {"description", p.description},
                      {"choices", p.choices}});
  }
  json spec = {
      {"ok", g.ok}, {"submitter_parameter", g.submitter_parameter}, {"parameters", params}};
  if (!g.step.empty()) spec["step"] = g.step;
  return dump(spec);
}

std::string input_step_key(const ApprovalRecord& a) {
  return a.kind == GateKind::Input ? input_spec(a).value("step", "") : "";
}

bool parse_input_question(const std::string& body, GateRequest& out, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    error = "an input question must be a JSON object";
    return false;
  }
  auto field = [&](const char* key, std::string& to) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_string() || it->get<std::string>().size() > kMaxComment) return false;
    to = it->get<std::string>();
    return true;
  };
  out.kind = GateKind::Input;
  std::string id;
  if (!field("id", id) || !field("message", out.message) || !field("ok", out.ok) ||
      !field("submitter", out.submitter) ||
      !field("submitter_parameter", out.submitter_parameter)) {
    error = "input question fields must be strings of at most 4096 bytes";
    return false;
  }
  out.step = id.empty() ? out.message.substr(0, 200) : id;
  auto params = j.find("parameters");
  if (params == j.end()) return true;
  if (!params->is_array() || params->size() > kMaxValues) {
    error = "input question 'parameters' must be an array of at most 100 definitions";
    return false;
  }
  for (const json& p : *params) {
    GateRequest::Parameter def;
    if (!parse_input_parameter(p, def, error)) return false;
    for (const GateRequest::Parameter& seen : out.parameters) {
      if (seen.name == def.name) {
        error = "input parameter '" + def.name + "' is defined twice";
        return false;
      }
    }
    out.parameters.push_back(std::move(def));
  }
  return true;
}

std::string input_reply_json(const ApprovalRecord& a) {
  std::string approver;
  for (const DecisionRecord& d : a.decisions) {
    if (d.approve && approver.empty()) approver = d.user;
  }
  json reply = {{"id", approval_name(a)},
                {"status", to_string(a.status)},
                {"approver", a.status == ApprovalStatus::Approved ? approver : ""},
                {"reason", a.reason}};
  // The job that asked gets the values in clear (its step returns them), no one else.
  if (a.status == ApprovalStatus::Approved) reply["values"] = a.values;
  return dump(reply);
}

bool parse_decision(const std::string& body, std::string& comment,
                    std::map<std::string, std::string>& values, std::string& error) {
  if (body.empty()) return true;
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) {
    error = "the body must be a JSON object {\"comment\": ..., \"parameters\": {...}}";
    return false;
  }
  for (const auto& [key, v] : j.items()) {
    if (key == "comment") {
      if (!v.is_string() || v.get<std::string>().size() > kMaxComment) {
        error = "'comment' must be a string of at most 4096 bytes";
        return false;
      }
      comment = v.get<std::string>();
    } else if (key == "parameters") {
      if (!v.is_object() || v.size() > kMaxValues) {
        error = "'parameters' must be an object of at most 100 values";
        return false;
      }
      for (const auto& [name, value] : v.items()) {
        if (value.is_boolean()) {
          values[name] = value.get<bool>() ? "true" : "false";
        } else if (value.is_string() && value.get<std::string>().size() <= kMaxValue) {
          values[name] = value.get<std::string>();
        } else {
          error = "parameter '" + name + "' must be a string (at most 4096 bytes) or a boolean";
          return false;
        }
      }
    } else {
      error = "unknown field '" + key + "' (expected comment, parameters)";
      return false;
    }
  }
  return true;
}

bool check_input_values(const ApprovalRecord& a, std::map<std::string, std::string>& values,
                        std::string& error) {
  json params = input_spec(a).value("parameters", json::array());
  std::map<std::string, std::string> out;
  for (const json& p : params) {
    std::string name = p.value("name", ""), type = p.value("type", "");
    auto given = values.find(name);
    std::string v = given != values.end() ? given->second : p.value("default", "");
    if (type == "booleanParam" && v != "true" && v != "false") {
      error = "parameter '" + name + "' must be true or false";
      return false;
    }
    if (type == "choice" && given != values.end()) {
      std::vector<std::string> choices = p.value("choices", std::vector<std::string>{});
      if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
        error = "parameter '" + name + "' must be one of the input's choices";
        return false;
      }
    }
    out[name] = v;
  }
  for (const auto& [name, v] : values) {
    if (!out.count(name)) {
      error = "the input has no parameter '" + name + "'";
      return false;
    }
  }
  values = std::move(out);
  return true;
}

std::map<std::string, std::string> decided_values(const ApprovalRecord& a) {
  std::map<std::string, std::string> out;
  if (a.kind != GateKind::Input) return out;
  for (const DecisionRecord& d : a.decisions) {
    if (!d.approve) continue;
    out = d.values;
    std::string var = input_spec(a).value("submitter_parameter", "");
    if (!var.empty()) out[var] = d.user;
    break;
  }
  return out;
}

namespace {

json approval_object(const ApprovalRecord& a, const gmud::Evaluation& ev, const Standing* st) {
  json range = json::array();
  for (const ChangeRecord& c : a.changes) {
    range.push_back({{"sha", c.sha},
                     {"author", c.author},
                     {"author_email", c.author_email},
                     {"committer", c.committer},
                     {"committer_email", c.committer_email},
                     {"message", first_line(c.message)}});
  }
  json blocked = json::array();
  if (a.status == ApprovalStatus::Pending || a.status == ApprovalStatus::Approved) {
    for (const std::string& b : ev.blocked_by) blocked.push_back(b);
  } else if (!a.reason.empty()) {
    blocked.push_back(a.reason);
  }
  json j = {{"id", approval_name(a)},
            {"kind", to_string(a.kind)},
            {"status", to_string(a.status)},
            {"run", a.run_id},
            {"stage", a.stage_id},
            {"environment", a.environment},
            {"repo", a.repo},
            {"commit", a.commit},
            {"required", a.required},
            {"approvals", decisions_json(a, true)},
            {"rejections", decisions_json(a, false)},
            {"blocked_by", blocked},
            {"requested_at", a.requested_at},
            {"expires_at", a.expires_at},
            {"decided_at", a.decided_at},
            {"reason", a.reason}};
  if (a.kind == GateKind::Gmud) {
    j["title"] = a.title;
    j["impact"] = a.impact;
    j["rollback_plan"] = a.rollback_plan;
    j["triggered_by"] = a.triggered_by;
    json also = json::array();
    for (const InstigatorRecord& i : a.instigators)
      also.push_back({{"name", i.name}, {"email", i.email}, {"what", i.what}});
    j["instigators"] = also;
    j["range_base"] = a.range_base;
    j["base_release"] = a.base_release ? "R-" + std::to_string(a.base_release) : "";
    j["range_unknown"] = a.range_unknown;
    j["range"] = range;
    j["run_parameters"] = a.run_parameters;
  } else {
    json spec = input_spec(a);
    j["message"] = a.message;
    j["submitter"] = a.submitter;
    j["ok"] = spec.value("ok", "");
    json params = spec.value("parameters", json::array());
    j["parameters"] = shown_parameters(params);
    j["values"] = shown_values(params, a.values);
  }
  if (st) {
    j["deciders"] = st->deciders;
    j["you"] = {{"may_decide", st->may_decide}, {"why_not", st->why_not}};
  }
  return j;
}

}  // namespace

std::string environments_json(const std::vector<EnvironmentView>& environments) {
  json items = json::array();
  for (const EnvironmentView& e : environments)
    items.push_back({{"name", e.name}, {"gated", e.gated}, {"explain", e.explain}});
  return dump({{"environments", items}});
}

std::string approval_json(const ApprovalRecord& a, const gmud::Evaluation& ev,
                          const Standing* standing) {
  return dump(approval_object(a, ev, standing));
}

std::string approvals_json(const std::vector<ApprovalRecord>& list,
                           const std::vector<gmud::Evaluation>& evaluations,
                           const std::vector<Standing>* standings) {
  json items = json::array();
  for (size_t i = 0; i < list.size(); ++i)
    items.push_back(
        approval_object(list[i], evaluations[i], standings ? &(*standings)[i] : nullptr));
  return dump({{"approvals", items}});
}

}  // namespace gantry::controller
