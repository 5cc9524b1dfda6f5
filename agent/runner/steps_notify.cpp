// Notification steps: Jenkins' `mail` (Mailer), `emailext` (Email Extension) and `slackSend`
// (Slack). The agent has no mail server or Slack token of its own: each step hands its message
// to the controller (JobHost::notify, protocol::Notify), which sends it through the channels of
// its `notifications:` config, and waits for the outcome — asked again every half second, at
// most kWait — so a refused or undeliverable message fails the step. The job's secrets are
// masked in what leaves, as in its log.
//
// Not supported, and said in the log when used: emailext's attachLog, compressLog and
// attachmentsPattern (no attachments), a charset other than UTF-8 (the text is sent as UTF-8),
// and slackSend's tokenCredentialId, botUser, teamDomain, baseUrl and the like (the
// controller's Slack channel decides where it posts).
#include <chrono>

#include "job_control.hpp"
#include "spool.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Step;

namespace {

// Past the controller's retries (four tries of up to 30 s each, backing off 2, 4, 8 s).
constexpr auto kWait = std::chrono::minutes(3);
constexpr auto kPoll = std::chrono::milliseconds(500);

// What a recipient provider of emailext is, written as a call (developers()) or as a map
// ([$class: 'DevelopersRecipientProvider']); "" for anything else.
std::string provider_name(const Node& n) {
  if (n.kind == NodeKind::Call && !n.lhs) return n.text;
  if (n.kind != NodeKind::Map) return "";
  for (const auto& arg : n.named) {
    if (arg.name != "$class" || !arg.value || arg.value->kind != NodeKind::String) continue;
    const std::string& c = arg.value->text;
    if (c == "DevelopersRecipientProvider") return "developers";
    if (c == "CulpritsRecipientProvider") return "culprits";
    if (c == "RequesterRecipientProvider") return "requestor";
    return c;
  }
  return "";
}

}  // namespace

StepStatus StepRunner::send_notification(const std::string& step, protocol::Notify message,
                                         const std::string& what) {
  const std::vector<std::string> secrets = job_secrets(job_.spec);
  for (auto& [k, v] : message.fields) v = mask_secrets(v, secrets);
  message.seq = ++job_.notify_seq;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  std::string last_error;
  for (;;) {
    protocol::NotifyReply r = job_.host.notify(message);
    if (r.status == "sent") {
      log(step + ": sent " + what + " (" + r.message + ")");
      return StepStatus{};
    }
    if (r.status == "skipped") {
      log(step + ": not sent: " + r.message);
      return StepStatus{};
    }
    if (r.status == "failed" || r.status == "refused")
      return StepStatus::failure(step + ": " + r.message);
    if (r.status != "queued" && r.status != "error")
      return StepStatus::failure(step + ": unexpected answer '" + r.status +
                                 "' from the controller");
    if (r.status == "error" && r.message != last_error) {
      log(step + ": cannot reach the controller (" + r.message + "); asking again");
      last_error = r.message;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline)
      return StepStatus::failure(step + ": the controller did not report the delivery within " +
                                 std::to_string(kWait.count()) +
                                 " minutes (the message may still be sent)");
    if (!job_.control.sleep_until(now + kPoll)) return interruption();
  }
}

StepStatus StepRunner::mail(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  protocol::Notify m;
  m.kind = "mail";
  for (const char* key :
       {"to", "cc", "bcc", "from", "replyTo", "subject", "body", "mimeType", "channel"}) {
    if (auto v = args.string(key)) m.fields[key] = *v;
  }
  auto charset = args.string("charset");
  if (!args.ok()) return args.failure();
  if (!m.fields.count("subject") || !m.fields.count("body"))
    return StepStatus::failure("mail: 'subject' and 'body' are required");
  if (charset && *charset != "UTF-8" && *charset != "utf-8")
    log("mail: charset " + *charset + " is not supported; the message is sent as UTF-8");
  std::string to = m.fields["to"] + (m.fields.count("cc") ? " " + m.fields["cc"] : "");
  return send_notification("mail", std::move(m), "to " + to);
}

StepStatus StepRunner::emailext(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  protocol::Notify m;
  m.kind = "mail";
  for (const char* key : {"to", "from", "replyTo", "subject", "body", "mimeType", "channel"}) {
    if (auto v = args.string(key)) m.fields[key] = *v;
  }
  std::string providers;
  if (const Node* list = args.node("recipientProviders")) {
    std::vector<const Node*> items;
    if (list->kind == NodeKind::List) {
      for (const auto& item : list->items) items.push_back(item.get());
    } else {
      items.push_back(list);
    }
    for (const Node* item : items) {
      std::string name = item ? provider_name(*item) : "";
      if (name != "developers" && name != "culprits" && name != "requestor")
        return StepStatus::failure(
            "emailext: recipientProviders: " +
            (name.empty() ? std::string("a value") : "'" + name + "'") +
            " is not supported (developers(), culprits() and requestor() are)");
      providers += (providers.empty() ? "" : ",") + name;
    }
  }
  if (!providers.empty()) m.fields["recipientProviders"] = providers;
  for (const char* ignored : {"attachLog", "compressLog", "attachmentsPattern"}) {
    if (args.node(ignored)) log(std::string("emailext: ") + ignored + " is not supported; ignored");
  }
  if (!args.ok()) return args.failure();
  if (!m.fields.count("subject") || !m.fields.count("body"))
    return StepStatus::failure("emailext: 'subject' and 'body' are required");
  std::string who = m.fields["to"];
  if (!providers.empty()) who += (who.empty() ? "" : " and ") + providers;
  return send_notification("emailext", std::move(m), "to " + who);
}

StepStatus StepRunner::slack_send(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  protocol::Notify m;
  m.kind = "slack";
  if (auto v = args.string("message", 0)) m.fields["message"] = *v;
  for (const char* key : {"channel", "color"}) {
    if (auto v = args.string(key)) m.fields[key] = *v;
  }
  for (const char* ignored : {"tokenCredentialId", "botUser", "teamDomain", "baseUrl", "token",
                              "iconEmoji", "username"}) {
    if (args.node(ignored))
      log(std::string("slackSend: ") + ignored +
          " is ignored; the controller's Slack channel decides where the message goes");
  }
  if (!args.ok()) return args.failure();
  if (m.fields["message"].empty()) return StepStatus::failure("slackSend: 'message' is required");
  std::string where = m.fields.count("channel") ? " to " + m.fields["channel"] : "";
  return send_notification("slackSend", std::move(m), "a message" + where);
}

}  // namespace gantry::agent
