#pragma once
// The notifier (SPEC §7, docs/notifications.md): sends what the controller has to tell people
// through the channels of `notifications:` — e-mail over SMTP, Slack-compatible incoming
// webhooks, generic webhooks signed with HMAC-SHA256 — on a worker thread of its own, so that
// a slow or dead mail server never holds the controller's loop.
//
// publish() fans an event out to every channel that hears it; submit() queues one message of a
// `mail`/`emailext`/`slackSend` step for one channel and outcome() tells the step how it fared.
// Both return at once. Each message is tried up to Options::max_attempts times, with a backoff
// that doubles from first_backoff; an answer that will not change (an SMTP 5xx, an HTTP 4xx
// other than 408 and 429) ends it at once. One logfmt line per message sent or given up
// (comp=notify event=notify.sent|notify.failed), counters per channel for /metrics.
//
// Bounds: at most max_queue messages wait (past it the oldest is dropped, counted and logged);
// subjects, bodies and recipients are bounded by the callers (notify_steps.cpp,
// notify_events.cpp); step outcomes are kept for the newest 1000 messages. Nothing is stored:
// a message queued when the controller stops is lost (docs/notifications.md says so).
//
// Threading: publish, submit, outcome, reconfigure, set_public_url and metrics_text may be
// called from any thread (the controller calls them on its loop); deliveries run on the
// worker. The destructor waits a little for a delivery in progress, then leaves the worker to
// finish it alone (its state is shared, never freed under it).

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gantry/net/smtp_client.hpp"
#include "notification_config.hpp"

namespace gantry::controller {

// What happened, as the services say it; each channel's message is made from it.
struct NotifyEvent {
  std::string event;    // "gmud.opened", ... (kNotificationEvents)
  std::string subject;  // one line: "GMUD-3 needs approval: app to production (run 12)"
  std::string text;     // the body, plain text, lines of "Key: value"
  std::string link;     // a path on the web page ("/#/approvals/GMUD-3"), after the public URL
  std::string color;    // Slack attachment color: good | warning | danger
  // For generic webhooks' JSON: run, stage, gmud, release, environment, repository, commit, ...
  std::map<std::string, std::string> fields;
};

// One message of a step, for the channel it names (or the first of its kind).
struct StepNotice {
  std::string key;  // job, epoch and seq: outcome() reads it back
  NotificationChannel::Kind kind = NotificationChannel::Kind::Smtp;
  std::string channel;  // a channel's name; "": the first channel of `kind`
  net::MailMessage mail;
  std::string slack_channel, color, message;  // slackSend
  std::string link;                           // the run's page, for the Slack message
};

class Notifier {
 public:
  struct Options {
    int max_attempts = 4;
    std::chrono::milliseconds first_backoff{2000};
    size_t max_queue = 1000;
  };
  struct Outcome {
    std::string status;  // queued | sent | failed | unknown
    std::string message;
    std::string channel;
  };

  explicit Notifier(std::vector<NotificationChannel> channels)
      : Notifier(std::move(channels), Options{}) {}
  Notifier(std::vector<NotificationChannel> channels, Options options);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // The address links start with ("https://ci.example.com"); until set, the links are paths.
  void set_public_url(std::string url);
  // `kill -HUP`: messages queued keep the channel they were made for.
  void reconfigure(std::vector<NotificationChannel> channels);
  bool has_channels() const;

  void publish(const NotifyEvent& e);
  // "" once queued (or when `key` was queued already); otherwise why not, for the step:
  // "no SMTP channel is configured under notifications: in the controller's config".
  std::string submit(StepNotice notice);
  Outcome outcome(const std::string& key) const;

  // gantry_notifications_{sent,failed,dropped}_total by channel, Prometheus text.
  std::string metrics_text() const;

  struct State;  // shared with the worker thread

 private:
  std::shared_ptr<State> state_;
};

// The JSON bodies (notifier_json.cpp): Slack's {"text", "channel"?, "attachments"} and the
// generic webhook's {"event", "message", "text", "url", ...fields}.
std::string slack_json(const std::string& text, const std::string& channel,
                       const std::string& color, const std::string& attachment);
std::string webhook_json(const NotifyEvent& e, const std::string& url);
// "sha256=" and the hex HMAC-SHA256 of `body` under `secret` (X-Gantry-Signature-256).
std::string webhook_signature(const std::string& secret, const std::string& body);

}  // namespace gantry::controller
