// The notifier's queue and worker: one message per channel and event, tried with a doubling
// backoff, counted per channel. Deliveries go through net/ (smtp_send, http_request).
#include "service/notifier.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "gantry/common/log.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"

namespace gantry::controller {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Kind = NotificationChannel::Kind;

constexpr size_t kMaxOutcomes = 1000;
constexpr auto kHttpTimeout = std::chrono::seconds(30);
constexpr auto kStopWait = std::chrono::seconds(3);

struct Item {
  NotificationChannel channel;
  std::string event;  // "gmud.opened", ..., or "step"
  net::MailMessage mail;
  std::string json;
  std::string key;  // a step's: its outcome is kept
  int attempts = 0;
  SteadyClock::time_point due;
  uint64_t order = 0;
};

struct Attempt {
  bool ok = false;
  bool permanent = false;  // trying again would get the same answer
  std::string error;
};

const char* kind_name(Kind k) {
  return k == Kind::Smtp ? "smtp" : k == Kind::Slack ? "slack" : "webhook";
}

std::string helo_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

// Where a webhook goes, for logs: its host only (the path of a Slack URL is its secret).
std::string url_host(const std::string& url) {
  auto u = net::parse_url(url);
  return u ? net::host_port(*u) : "(invalid url)";
}

Attempt deliver_smtp(const Item& item) {
  const SmtpChannelConfig& c = item.channel.smtp;
  net::SmtpOptions o;
  o.host = c.host;
  o.port = c.port;
  o.security = c.security == "tls"        ? net::SmtpOptions::Security::Tls
               : c.security == "starttls" ? net::SmtpOptions::Security::StartTls
                                          : net::SmtpOptions::Security::Plain;
  o.username = c.username;
  o.password = c.password;
  o.tls.ca_file = c.ca_file;
  o.helo_name = helo_name();
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  net::SmtpResult r = net::smtp_send(o, item.mail);
  if (r.ok) return {true, false, ""};
  return {false, r.code / 100 == 5, r.error};
}

Attempt deliver_http(const Item& item) {
  net::ClientRequest req;
  req.method = "POST";
  req.url = item.channel.url;
  req.body = item.json;
  req.content_type = "application/json";
  req.timeout = kHttpTimeout;
  req.max_body = 64 * 1024;
  if (item.channel.kind == Kind::Webhook) {
    req.headers.emplace_back("X-Gantry-Event", item.event);
    if (!item.channel.secret.empty())
      req.headers.emplace_back("X-Gantry-Signature-256",
                               webhook_signature(item.channel.secret, item.json));
  }
  net::ClientResponse r = net::http_request(req);
  const std::string where = url_host(item.channel.url);
  if (!r.ok) return {false, false, r.error};
  if (r.status / 100 == 2) return {true, false, ""};
  std::string body = r.body.substr(0, 200);
  for (char& ch : body) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  bool permanent = r.status / 100 == 4 && r.status != 408 && r.status != 429;
  return {false, permanent, "POST " + where + ": HTTP " + std::to_string(r.status) + " " + body};
}

}  // namespace

struct Notifier::State {
  Options options;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<NotificationChannel> channels;
  std::string public_url;
  std::deque<Item> queue;
  uint64_t next_order = 0;
  bool stop = false;
  bool exited = false;
  struct Counts {
    uint64_t sent = 0, failed = 0, dropped = 0;
  };
  std::map<std::string, Counts> counts;
  std::map<std::string, Outcome> outcomes;
  std::deque<std::string> outcome_order;
  std::thread worker;

  void set_outcome(const std::string& key, Outcome o) {
    if (key.empty()) return;
    auto [it, inserted] = outcomes.insert_or_assign(key, std::move(o));
    if (!inserted) return;
    outcome_order.push_back(key);
    while (outcome_order.size() > kMaxOutcomes) {
      outcomes.erase(outcome_order.front());
      outcome_order.pop_front();
    }
  }

  // Under mu. Drops the oldest messages while the queue holds more than its
  // bound: after a new one went in, or a failed one came back for a retry (the
  // one being delivered is out of the queue meanwhile, so both may meet a full
  // queue; the one back may be the oldest).
  void trim() {
    while (queue.size() > options.max_queue && !queue.empty()) {
      auto oldest = std::min_element(queue.begin(), queue.end(), [](const Item& a, const Item& b) {
        return a.order < b.order;
      });
      uint64_t dropped = ++counts[oldest->channel.name].dropped;
      log::warn("notify", "notify.dropped",
                {{"channel", oldest->channel.name},
                 {"about", oldest->event},
                 {"reason", "the queue is full"},
                 {"dropped_total", std::to_string(dropped)}});
      set_outcome(oldest->key, {"failed", "dropped: the controller's notification queue was full",
                                oldest->channel.name});
      queue.erase(oldest);
    }
  }

  // Under mu.
  void enqueue(Item item) {
    item.order = next_order++;
    item.due = SteadyClock::now();
    counts[item.channel.name];  // shown at 0 in /metrics
    queue.push_back(std::move(item));
    trim();
    cv.notify_all();
  }

  void finish(Item& item, const Attempt& a) {
    const std::string attempts = std::to_string(item.attempts);
    if (a.ok) {
      ++counts[item.channel.name].sent;
      set_outcome(item.key, {"sent", "", item.channel.name});
      log::info("notify", "notify.sent",
                {{"channel", item.channel.name},
                 {"kind", kind_name(item.channel.kind)},
                 {"about", item.event},
                 {"attempts", attempts}});
      return;
    }
    if (a.permanent || item.attempts >= options.max_attempts || stop) {
      ++counts[item.channel.name].failed;
      set_outcome(item.key, {"failed", a.error, item.channel.name});
      log::error("notify", "notify.failed",
                 {{"channel", item.channel.name},
                  {"kind", kind_name(item.channel.kind)},
                  {"about", item.event},
                  {"attempts", attempts},
                  {"error", a.error}});
      return;
    }
    auto backoff = options.first_backoff * (1 << std::min(item.attempts - 1, 10));
    log::warn("notify", "notify.retry",
              {{"channel", item.channel.name},
               {"about", item.event},
               {"attempts", attempts},
               {"in_ms", std::to_string(backoff.count())},
               {"error", a.error}});
    item.due = SteadyClock::now() + backoff;
    queue.push_back(std::move(item));
    trim();
  }

  void work() {
    std::unique_lock lock(mu);
    while (!stop) {
      if (queue.empty()) {
        cv.wait(lock);
        continue;
      }
      auto next = std::min_element(queue.begin(), queue.end(), [](const Item& a, const Item& b) {
        return a.due < b.due || (a.due == b.due && a.order < b.order);
      });
      if (next->due > SteadyClock::now()) {
        // A copy: enqueue() may drop that very item while this waits (the queue is full).
        const auto due = next->due;
        cv.wait_until(lock, due);
        continue;
      }
      Item item = std::move(*next);
      queue.erase(next);
      lock.unlock();
      Attempt a;
      try {
        a = item.channel.kind == Kind::Smtp ? deliver_smtp(item) : deliver_http(item);
      } catch (const std::exception& e) {
        a = {false, true, std::string("internal error: ") + e.what()};
      }
      lock.lock();
      ++item.attempts;
      finish(item, a);
    }
    exited = true;
    cv.notify_all();
  }
};

Notifier::Notifier(std::vector<NotificationChannel> channels, Options options)
    : state_(std::make_shared<State>()) {
  state_->options = options;
  state_->channels = std::move(channels);
  for (const NotificationChannel& c : state_->channels) state_->counts[c.name];
  std::shared_ptr<State> s = state_;
  s->worker = std::thread([s] { s->work(); });
}

Notifier::~Notifier() {
  std::unique_lock lock(state_->mu);
  state_->stop = true;
  state_->cv.notify_all();
  // A delivery in progress may take its full timeout: wait a little, then let it end alone.
  bool exited = state_->cv.wait_for(lock, kStopWait, [this] { return state_->exited; });
  if (!state_->queue.empty())
    log::warn(
        "notify", "notify.lost",
        {{"queued", std::to_string(state_->queue.size())}, {"reason", "the controller stopped"}});
  lock.unlock();
  if (exited) {
    state_->worker.join();
  } else {
    state_->worker.detach();  // it holds `state_` itself
  }
}

void Notifier::set_public_url(std::string url) {
  std::lock_guard lock(state_->mu);
  while (!url.empty() && url.back() == '/') url.pop_back();
  state_->public_url = std::move(url);
}

void Notifier::reconfigure(std::vector<NotificationChannel> channels) {
  std::lock_guard lock(state_->mu);
  state_->channels = std::move(channels);
  for (const NotificationChannel& c : state_->channels) state_->counts[c.name];
}

bool Notifier::has_channels() const {
  std::lock_guard lock(state_->mu);
  return !state_->channels.empty();
}

void Notifier::publish(const NotifyEvent& e) {
  std::lock_guard lock(state_->mu);
  const std::string url = e.link.empty() ? "" : state_->public_url + e.link;
  for (const NotificationChannel& c : state_->channels) {
    if (!c.hears(e.event)) continue;
    Item item;
    item.channel = c;
    item.event = e.event;
    if (c.kind == Kind::Smtp) {
      if (c.to.empty()) continue;  // a channel for the mail steps only
      item.mail.from = c.smtp.from;
      item.mail.to = c.to;
      item.mail.subject = "[Gantry] " + e.subject;
      item.mail.body = e.text + (url.empty() ? "" : "\nOpen: " + url + "\n");
    } else if (c.kind == Kind::Slack) {
      std::string text = e.subject + (url.empty() ? "" : " <" + url + "|open>");
      item.json = slack_json(text, c.slack_channel, e.color, e.text);
    } else {
      item.json = webhook_json(e, url);
    }
    state_->enqueue(std::move(item));
  }
}

std::string Notifier::submit(StepNotice n) {
  std::lock_guard lock(state_->mu);
  if (auto it = state_->outcomes.find(n.key); it != state_->outcomes.end()) return "";
  const char* what = n.kind == Kind::Smtp ? "SMTP" : "Slack";
  const NotificationChannel* channel = nullptr;
  for (const NotificationChannel& c : state_->channels) {
    if (n.channel.empty() ? c.kind == n.kind : c.name == n.channel) {
      channel = &c;
      break;
    }
  }
  if (!channel && n.channel.empty())
    return std::string("no ") + what +
           " channel is configured under notifications: in the controller's config";
  if (!channel)
    return "no channel named '" + n.channel + "' under notifications: in the controller's config";
  if (channel->kind != n.kind)
    return "channel '" + n.channel + "' is not " + (n.kind == Kind::Smtp ? "an SMTP" : "a Slack") +
           " channel";
  Item item;
  item.channel = *channel;
  item.event = "step";
  item.key = n.key;
  if (n.kind == Kind::Smtp) {
    item.mail = std::move(n.mail);
    if (item.mail.from.empty()) item.mail.from = channel->smtp.from;
    item.mail.sender = channel->smtp.from;  // the relay's account, whatever From says
  } else {
    const std::string& room = n.slack_channel.empty() ? channel->slack_channel : n.slack_channel;
    item.json = n.color.empty() ? slack_json(n.message, room, "", "")
                                : slack_json("", room, n.color, n.message);
  }
  state_->set_outcome(n.key, {"queued", "", channel->name});
  state_->enqueue(std::move(item));
  return "";
}

Notifier::Outcome Notifier::outcome(const std::string& key) const {
  std::lock_guard lock(state_->mu);
  auto it = state_->outcomes.find(key);
  if (it == state_->outcomes.end()) return {"unknown", "", ""};
  return it->second;
}

std::string Notifier::metrics_text() const {
  std::lock_guard lock(state_->mu);
  std::string out;
  auto series = [&](const char* name, const char* help, uint64_t State::Counts::*field) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n";
    for (const auto& [channel, counts] : state_->counts) {
      std::string label;
      for (char ch : channel)
        label += ch == '"' || ch == '\\' ? std::string("\\") + ch : std::string(1, ch);
      out +=
          std::string(name) + "{channel=\"" + label + "\"} " + std::to_string(counts.*field) + "\n";
    }
  };
  series("gantry_notifications_sent_total", "Notifications delivered, by channel.",
         &State::Counts::sent);
  series("gantry_notifications_failed_total",
         "Notifications given up after their retries, by channel.", &State::Counts::failed);
  series("gantry_notifications_dropped_total",
         "Notifications dropped because the queue was full, by channel.", &State::Counts::dropped);
  return out;
}

}  // namespace gantry::controller
