#pragma once
// `notifications:` of the controller config (docs/notifications.md): the channels the controller
// tells people through (e-mail over SMTP, Slack-compatible webhooks, generic signed webhooks),
// which events each hears, and where the mail/emailext/slackSend steps send. Plain values,
// read by config_notifications.cpp and used by service/notifier.cpp.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::controller {

// Every event a channel may hear, in the order the docs list them. Without `events:` a channel
// hears the gmud.*, input.* and canary.* ones; run.failed is asked for by name.
inline constexpr std::string_view kNotificationEvents[] = {
    "gmud.opened",  "gmud.approved", "gmud.rejected",      "gmud.expired",
    "input.opened", "canary.paused", "canary.rolled_back", "run.failed"};

struct SmtpChannelConfig {
  std::string host;
  uint16_t port = 587;
  std::string from;
  // starttls (the default; port 587 or 25), tls (TLS from the first byte: port 465, the
  // default there), or plain (`starttls: false`: no encryption at all).
  std::string security = "starttls";
  std::string username;
  std::string password;  // from password_file or password_secret, read at load time
  std::string ca_file;   // empty: the system's CAs
  int64_t timeout_ms = 30000;
  bool operator==(const SmtpChannelConfig&) const = default;
};

struct NotificationChannel {
  enum class Kind { Smtp, Slack, Webhook };
  std::string name;
  Kind kind = Kind::Smtp;
  SmtpChannelConfig smtp;
  std::vector<std::string> to;  // smtp: who hears the events
  std::string url;              // slack: the incoming-webhook URL; webhook: where to POST
  std::string slack_channel;    // slack: "#releases" (empty: the webhook's own)
  std::string secret;           // webhook: HMAC-SHA256 key of X-Gantry-Signature-256 ("": none)
  std::vector<std::string> events;
  bool hears(std::string_view event) const {
    for (const std::string& e : events) {
      if (e == event) return true;
    }
    return false;
  }
  bool operator==(const NotificationChannel&) const = default;
};

}  // namespace gantry::controller
