// The approvals API: list and show change requests with what blocks them,
// and approve or reject one. Who may decide is the policy's business
// (gmud::ineligible): the role's permission, membership of an approver
// group, and not having made the change (trigger, authors, committers).
// Every refusal is a 403 with the reason and an audit entry; every decision
// is audited before it takes effect on the run.
#include "gantry/common/log.hpp"
#include "service/api_json.hpp"
#include "service/approvals_json.hpp"
#include "service/controller.hpp"

namespace gantry::controller {

namespace {

constexpr size_t kMaxListed = 500;

std::string query(const net::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

}  // namespace

void Controller::show_current_quorum(ApprovalRecord& a) const {
  // A pending request is decided under today's policy (a reload may have
  // changed it); a closed one keeps the quorum it was decided with.
  if (a.kind != "gmud" || a.status != "pending") return;
  if (std::optional<gmud::Policy> p = policy_of(a)) a.required = std::max(p->min_approvals, 1);
}

net::Response Controller::list_approvals(const net::Request& req) {
  std::string status = query(req, "status");
  static const char* kStatuses[] = {"", "pending", "approved", "rejected", "expired", "cancelled"};
  if (std::find(std::begin(kStatuses), std::end(kStatuses), status) == std::end(kStatuses))
    return error(
        400, "bad_request",
        "unknown status '" + status + "' (use pending, approved, rejected, expired or cancelled)");
  std::vector<ApprovalRecord> list = store_->list_approvals(kMaxListed, status);
  std::vector<gmud::Evaluation> evs;
  evs.reserve(list.size());
  for (ApprovalRecord& a : list) {
    evs.push_back(evaluate_approval(a));
    show_current_quorum(a);
  }
  net::Response r;
  r.body = approvals_json(list, evs);
  return r;
}

net::Response Controller::show_approval(const std::string& text) {
  int64_t id = 0;
  std::optional<ApprovalRecord> a;
  if (parse_approval_id(text, id)) a = store_->approval(id);
  if (!a) return error(404, "not_found", "no change request '" + text + "'");
  gmud::Evaluation ev = evaluate_approval(*a);
  show_current_quorum(*a);
  net::Response r;
  r.body = approval_json(*a, ev);
  return r;
}

net::Response Controller::decide(const std::string& text, const net::Request& req,
                                 const Principal& who, bool approve) {
  int64_t id = 0;
  std::optional<ApprovalRecord> a;
  if (parse_approval_id(text, id)) a = store_->approval(id);
  if (!a) return error(404, "not_found", "no change request '" + text + "'");
  const std::string name = approval_name(*a);
  const char* verb = approve ? "approve" : "reject";
  auto refuse = [&](const std::string& why) {
    audit(who.name, "permission.denied", name, {{"action", verb}, {"reason", why}});
    return error(403, "forbidden", why);
  };
  const Permission needed = a->kind == "gmud" ? Permission::Approve : Permission::Trigger;
  if (!principal_allows(who, needed))
    return refuse(who.name + " may not " + verb + " " + name + " (their role lacks '" +
                  (a->kind == "gmud" ? "approve" : "trigger") + "')");
  std::string comment, why;
  std::map<std::string, std::string> values;
  if (!parse_decision(req.body, comment, values, why)) return error(400, "bad_request", why);
  if (!approve && comment.empty())
    return error(400, "bad_request", "a rejection needs a comment saying why (--comment)");
  if (!approve && !values.empty())
    return error(400, "bad_request", "parameters go with an approval, not a rejection");
  if (a->kind != "input" && !values.empty())
    return error(400, "bad_request", "parameters go with an input's approval, not a GMUD's");
  if (a->status != "pending")
    return error(409, "conflict", name + " is " + a->status + "; it takes no more decisions");
  std::optional<gmud::Policy> policy = policy_of(*a);
  if (!policy)
    return error(409, "conflict", name + ": its environment has no GMUD policy any more");
  std::vector<gmud::Person> people = people_of(*a);
  auto person = std::find_if(people.begin(), people.end(),
                             [&](const gmud::Person& p) { return p.name == who.name; });
  if (person == people.end()) return refuse(who.name + " is not a configured user");
  if (auto ineligible = gmud::ineligible(*policy, gate_request_of(*a), *person))
    return refuse(*ineligible);
  if (approve && a->kind == "input" && !check_input_values(*a, values, why))
    return error(400, "bad_request", why);
  DecisionRecord d{who.name, approve, comment, now(), values};
  if (!store_->add_decision(a->id, d))
    return error(409, "conflict", who.name + " has already decided on " + name);
  audit(who.name, approve ? "approval.approve" : "approval.reject", name,
        {{"run", std::to_string(a->run_id)}, {"stage", a->stage_id}, {"comment", comment}});
  log::info("gmud", approve ? "approval.approve" : "approval.reject",
            {{"approval", name}, {"user", who.name}});
  if (auto fresh = store_->approval(a->id)) settle(std::move(*fresh));
  flush();
  a = store_->approval(a->id);
  gmud::Evaluation ev = evaluate_approval(*a);
  show_current_quorum(*a);
  net::Response r;
  r.body = approval_json(*a, ev);
  return r;
}

net::Response Controller::list_environments() {
  std::vector<EnvironmentView> views;
  ApprovalRecord probe;
  probe.kind = "gmud";
  const std::vector<gmud::Person> people = people_of(probe);
  for (const auto& [name, env] : config_.environments) {
    EnvironmentView v{name, env.gated, {}};
    if (env.gated)
      v.explain =
          gmud::explain_policy(env.policy, people, gmud::Clock(std::chrono::seconds(now() / 1000)));
    views.push_back(std::move(v));
  }
  net::Response r;
  r.body = environments_json(views);
  return r;
}

}  // namespace gantry::controller
