#pragma once
// JSON of change requests (GMUD and input gates) for the REST API, and the
// small codecs around them: request ids ("GMUD-3", "INPUT-4"), an input's
// parameter definitions as stored, the body of an approve/reject call, and
// the values an approved input gives its stage. nlohmann_json stays in
// approvals_json.cpp. Pure functions.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "gmud/gate.hpp"
#include "model/records.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

std::string approval_name(const ApprovalRecord& a);  // "GMUD-3" | "INPUT-3"
// The request as the pure evaluator sees it (gates.cpp).
gmud::Request gate_request_of(const ApprovalRecord& a);
// "GMUD-3", "INPUT-3" or "3"; false when it is none of these.
bool parse_approval_id(const std::string& text, int64_t& id);

// An input's definition (ok text, submitter parameter, parameters) as stored
// in ApprovalRecord::parameters; "" for a GMUD.
std::string input_parameters_json(const GateRequest& g);

// The key of an `input` step's request ("" for the directive's and GMUDs).
std::string input_step_key(const ApprovalRecord& a);
// An agent's `input` step question: {"id","message","ok","submitter",
// "submitter_parameter","parameters"}, into a GateRequest of kind "input".
// "parameters": at most 100 {"name","type","default","description","choices"}
// of type string, text, booleanParam, choice or password; checked here.
bool parse_input_question(const std::string& body, GateRequest& out, std::string& error);
// The answer the step polls for: {"id","status","approver","reason"}, and
// "values" (decided_values) once approved.
std::string input_reply_json(const ApprovalRecord& a);

// {"comment": "...", "parameters": {"NAME": "value"}}; both optional.
bool parse_decision(const std::string& body, std::string& comment,
                    std::map<std::string, std::string>& values, std::string& error);
// Checks an input approval's values against its parameters and fills the
// defaults; false with a message naming the bad value.
bool check_input_values(const ApprovalRecord& a, std::map<std::string, std::string>& values,
                        std::string& error);
// What an approved input gives its stage: the approver's values and, when
// the input names a submitterParameter, the approver's name.
std::map<std::string, std::string> decided_values(const ApprovalRecord& a);

// GET /api/v1/environments: each environment, whether a GMUD gates it, and
// what a deploy there would meet (gmud::explain_policy).
struct EnvironmentView {
  std::string name;
  bool gated = false;
  std::vector<std::string> explain;
};
std::string environments_json(const std::vector<EnvironmentView>& environments);

// Who may still decide a pending request, and whether the caller may (with why not), so a page
// offers Approve and Reject only to those who can use them.
struct Standing {
  std::vector<std::string> deciders;
  bool may_decide = false;
  std::string why_not;
};

std::string approval_json(const ApprovalRecord& a, const gmud::Evaluation& ev,
                          const Standing* standing = nullptr);
std::string approvals_json(const std::vector<ApprovalRecord>& list,
                           const std::vector<gmud::Evaluation>& evaluations,
                           const std::vector<Standing>* standings = nullptr);

}  // namespace gantry::controller
