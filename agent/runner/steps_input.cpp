// The `input` step: the job pauses, holding its agent as Jenkins does, until
// someone allowed by `submitter` approves or rejects the change request the
// controller opens for it (INPUT-<n>, the same machinery as the stage's
// input directive and GMUDs). The question is asked again every second; the
// controller answers from the request it already has, so a network cut or a
// controller restart only delays the answer. A cancel or timeout interrupts
// the wait at once. Parameters are the stage directive's business: the step
// form has no way here to hand values back to Groovy code.
#include <chrono>

#include "job_control.hpp"
#include "spool.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

StepStatus StepRunner::input(const pipelines::Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto message = args.value("message", 0);
  InputQuestion q;
  q.id = args.string("id").value_or("");
  q.ok = args.string("ok").value_or("Proceed");
  q.submitter = args.string("submitter").value_or("");
  q.submitter_parameter = args.string("submitterParameter").value_or("");
  const pipelines::Node* params = args.node("parameters");
  if (!args.ok()) return args.failure();
  if (params)
    return StepStatus::failure(
        "input: 'parameters' are taken by the stage's input directive, not the input step");
  // The question is shown to approvers, on the web page and in the audit log: never a secret.
  q.message = mask_secrets(message ? message->to_string() : "", job_secrets(job_.spec));
  if (q.id.empty()) q.id = q.message.substr(0, 200);
  bool announced = false;
  std::string last_error;
  for (;;) {
    InputReply r = job_.host.ask_input(q);
    if (r.status == "approved") {
      log(r.name + " approved by " + r.approver);
      StepStatus ok;
      if (!q.submitter_parameter.empty()) ok.exports[q.submitter_parameter] = r.approver;
      return ok;
    }
    if (r.status == "rejected" || r.status == "expired" || r.status == "cancelled")
      return StepStatus::failure(r.reason.empty() ? r.name + " " + r.status : r.reason,
                                 pipelines::Result::Aborted);
    if (r.status == "refused") return StepStatus::failure("input: " + r.reason);
    if (r.status == "pending" && !announced) {
      log("Waiting for " + r.name + ": " + q.message + " (" + q.ok + ": gantry approve " + r.name +
          "; abort: gantry reject " + r.name + " --comment WHY)");
      announced = true;
    } else if (r.status == "error" && r.reason != last_error) {
      log("input: cannot reach the controller (" + r.reason + "); asking again");
      last_error = r.reason;
    }
    if (!job_.control.sleep_until(std::chrono::steady_clock::now() + std::chrono::seconds(1)))
      return interruption();
  }
}

}  // namespace gantry::agent
