// A step's message for the controller's channels: checks, bounds, recipients, then the
// notifier's queue.
#include "service/notify_steps.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "gantry/common/log.hpp"
#include "gantry/net/smtp_client.hpp"
#include "gantry/protocol/codec.hpp"
#include "service/api_json.hpp"

namespace gantry::controller {
namespace {

net::Response reply(const std::string& status, const std::string& message) {
  net::Response r;
  r.body = protocol::encode_notify_reply(protocol::NotifyReply{status, message});
  return r;
}

net::Response refuse(const std::string& message) {
  return reply("refused", message);
}

std::string field(const protocol::Notify& n, const std::string& key) {
  auto it = n.fields.find(key);
  return it == n.fields.end() ? "" : it->second;
}

void add_unique(std::vector<std::string>& list, const std::string& address) {
  std::string a = net::mail_address(address);
  for (const std::string& x : list) {
    if (net::mail_address(x) == a) return;
  }
  list.push_back(address);
}

// emailext's recipientProviders, as far as the controller knows the run: the authors of its
// commits (developers, culprits) and the e-mails the config gives its trigger (requestor).
bool resolve_providers(const std::string& text, const RunRecord& run,
                       const std::vector<UserConfig>& users, std::vector<std::string>& out,
                       std::string& error) {
  std::vector<std::string> names;
  std::string word;
  for (char c : text + ",") {
    if (c == ',' || c == ' ') {
      if (!word.empty()) names.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  for (const std::string& name : names) {
    if (name == "developers" || name == "culprits") {
      for (const ChangeRecord& c : run.changes) {
        if (!net::mail_address(c.author_email).empty()) add_unique(out, c.author_email);
      }
      if (!net::mail_address(run.author_email).empty()) add_unique(out, run.author_email);
    } else if (name == "requestor") {
      for (const UserConfig& u : users) {
        if (u.name != run.created_by) continue;
        for (const std::string& e : u.emails) {
          if (!net::mail_address(e).empty()) add_unique(out, e);
        }
      }
    } else {
      error = "recipientProviders: '" + name +
              "' is not supported (developers(), culprits() and requestor() are)";
      return false;
    }
  }
  return true;
}

bool known_fields(const protocol::Notify& n, std::initializer_list<std::string_view> keys,
                  std::string& error) {
  for (const auto& [k, v] : n.fields) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      error = "unknown field '" + k.substr(0, 100) + "'";
      return false;
    }
  }
  return true;
}

// A mail or emailext step's message: its fields checked and its recipients resolved into
// `notice`; a Response when it ends here (refused, or skipped for want of recipients).
std::optional<net::Response> read_mail(const protocol::Notify& n, const RunRecord& run,
                                       const std::vector<UserConfig>& users, StepNotice& notice) {
  std::string why;
  if (!known_fields(n,
                    {"to", "cc", "bcc", "from", "replyTo", "subject", "body", "mimeType", "charset",
                     "recipientProviders", "channel"},
                    why))
    return refuse("mail: " + why);
  notice.kind = NotificationChannel::Kind::Smtp;
  notice.channel = field(n, "channel");
  net::MailMessage& m = notice.mail;
  m.subject = field(n, "subject");
  m.body = field(n, "body");
  if (m.subject.size() > kMaxNotifySubject)
    return refuse("mail: the subject is longer than 1000 bytes");
  if (m.body.size() > kMaxNotifyBody) return refuse("mail: the body is longer than 512 KiB");
  m.mime_type = field(n, "mimeType").empty() ? "text/plain" : field(n, "mimeType");
  if (m.mime_type != "text/plain" && m.mime_type != "text/html")
    return refuse("mail: mimeType must be text/plain or text/html, not '" +
                  m.mime_type.substr(0, 100) + "'");
  m.charset = "UTF-8";  // the text arrives as UTF-8 and leaves as UTF-8, whatever `charset` says
  for (auto [name, out] : {std::pair{"from", &m.from}, {"replyTo", &m.reply_to}}) {
    const std::string value = field(n, name);
    if (!value.empty() && net::mail_address(value).empty())
      return refuse("mail: " + std::string(name) + ": '" + value.substr(0, 200) +
                    "' is not an e-mail address");
    *out = value;
  }
  for (auto [name, list] : {std::pair{"to", &m.to}, {"cc", &m.cc}, {"bcc", &m.bcc}}) {
    if (!split_addresses(field(n, name), *list, why))
      return refuse("mail: " + std::string(name) + ": " + why);
  }
  const std::string providers = field(n, "recipientProviders");
  if (!providers.empty() && !resolve_providers(providers, run, users, m.to, why))
    return refuse("emailext: " + why);
  const size_t count = m.to.size() + m.cc.size() + m.bcc.size();
  if (count > kMaxNotifyRecipients) return refuse("mail: more than 100 recipients");
  if (count == 0 && !providers.empty())
    return reply("skipped", "no recipient: to is empty and the recipientProviders (" + providers +
                                ") know no e-mail address for this run");
  if (count == 0) return refuse("mail: no recipient (to, cc and bcc are empty)");
  return std::nullopt;
}

std::optional<net::Response> read_slack(const protocol::Notify& n, StepNotice& notice) {
  std::string why;
  if (!known_fields(n, {"channel", "color", "message", "notifier"}, why))
    return refuse("slackSend: " + why);
  notice.kind = NotificationChannel::Kind::Slack;
  notice.channel = field(n, "notifier");
  notice.slack_channel = field(n, "channel");
  notice.color = field(n, "color");
  notice.message = field(n, "message");
  if (notice.message.empty()) return refuse("slackSend: the message is empty");
  if (notice.message.size() > 40000)
    return refuse("slackSend: the message is longer than 40000 bytes");
  if (notice.slack_channel.size() > 200 || notice.color.size() > 100)
    return refuse("slackSend: channel or color is too long");
  return std::nullopt;
}

}  // namespace

bool split_addresses(const std::string& text, std::vector<std::string>& out, std::string& error) {
  std::string item;
  bool in_angle = false;
  auto flush = [&]() {
    size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) {
      item.clear();
      return true;
    }
    std::string a = item.substr(b, item.find_last_not_of(' ') - b + 1);
    item.clear();
    if (net::mail_address(a).empty()) {
      error = "'" + a.substr(0, 200) + "' is not an e-mail address";
      return false;
    }
    add_unique(out, a);
    return true;
  };
  for (char c : text) {
    if (c == '<') in_angle = true;
    if (c == '>') in_angle = false;
    // A space inside "Name <a@b>" belongs to the name; one after an address ends it.
    bool separator = c == ',' || c == ';' || c == '\n' || c == '\r' || c == '\t' ||
                     (c == ' ' && !in_angle && item.find('@') != std::string::npos &&
                      item.find('<') == std::string::npos);
    if (!separator) {
      item += c;
      continue;
    }
    if (!flush()) return false;
  }
  return flush();
}

net::Response notify_step(Notifier& notifier, const std::string& job_id, uint64_t epoch,
                          const RunRecord& run, const std::vector<UserConfig>& users,
                          const std::string& body) {
  auto decoded = protocol::decode_notify(body);
  if (auto* e = std::get_if<protocol::DecodeError>(&decoded))
    return error(400, "bad_request", e->message);
  const protocol::Notify& n = std::get<protocol::Notify>(decoded);
  if (n.job_id != job_id || n.epoch != epoch)
    return error(400, "bad_request", "the notify body names another job attempt");
  if (n.seq == 0) return error(400, "bad_request", "a notify request needs a seq from 1");
  const std::string key = job_id + "@" + std::to_string(epoch) + "#" + std::to_string(n.seq);
  Notifier::Outcome known = notifier.outcome(key);
  if (known.status != "unknown")
    return reply(known.status, known.status == "sent"
                                   ? "sent through channel '" + known.channel + "'"
                                   : known.message);

  StepNotice notice;
  notice.key = key;
  std::optional<net::Response> early =
      n.kind == "mail" ? read_mail(n, run, users, notice)
      : n.kind == "slack"
          ? read_slack(n, notice)
          : refuse("unknown notify kind '" + n.kind.substr(0, 50) + "' (mail or slack)");
  if (early) return *early;
  if (std::string refused = notifier.submit(notice); !refused.empty()) {
    log::warn("notify", "notify.step_refused",
              {{"run", std::to_string(run.id)}, {"job", job_id}, {"reason", refused}});
    return refuse(refused);
  }
  Notifier::Outcome queued = notifier.outcome(key);
  return reply("queued", "queued for channel '" + queued.channel + "'");
}

}  // namespace gantry::controller
