// The `notifications:` section of the controller config (docs/notifications.md): a list of
// channels, each an SMTP server with its recipients, a Slack-compatible incoming webhook, or a
// generic webhook signed with HMAC-SHA256. Files (passwords, webhook URLs, secrets) are read
// here, once, with one trailing newline dropped (as `echo x > file` leaves it).
#include <algorithm>
#include <charconv>

#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

constexpr size_t kMaxFileBytes = 64 * 1024;
constexpr size_t kMaxChannels = 100;
constexpr size_t kMaxRecipients = 1000;

bool http_url(const std::string& s) {
  return (s.starts_with("https://") && s.size() > 8) || (s.starts_with("http://") && s.size() > 7);
}

// The file's bytes without one trailing newline; false (the error recorded at `f`) otherwise.
bool read_small_file(Reader& r, const Field& f, std::string& out) {
  std::string path, error;
  if (!r.string(f, path)) return false;
  if (!read_file_bounded(path, kMaxFileBytes, out, error))
    return r.fail(f, "cannot read '" + f.name + "' " + path + ": " + error);
  if (out.ends_with("\n")) out.pop_back();
  if (out.ends_with("\r")) out.pop_back();
  if (out.empty()) return r.fail(f, "'" + f.name + "' " + path + " is empty");
  return true;
}

// An address as SMTP takes it: "a@b" or "Name <a@b>", one line.
bool plausible_address(const std::string& s) {
  if (s.find_first_of("\r\n") != std::string::npos || s.size() > 320) return false;
  std::string addr = s;
  if (size_t lt = s.find('<'); lt != std::string::npos) {
    size_t gt = s.find('>', lt);
    if (gt == std::string::npos) return false;
    addr = s.substr(lt + 1, gt - lt - 1);
  }
  size_t at = addr.rfind('@');
  return at != std::string::npos && at > 0 && at + 1 < addr.size() &&
         addr.find(' ') == std::string::npos;
}

bool read_port(Reader& r, const Field& f, uint16_t& port) {
  std::string text;
  if (!r.string(f, text)) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    return r.fail(f, "'port' must be a number from 1 to 65535");
  port = static_cast<uint16_t>(value);
  return true;
}

bool read_smtp(Reader& r, const Field& f, const Config& c, const std::string& owner,
               SmtpChannelConfig& s) {
  Fields fs;
  if (!r.fields(f.value, owner + " smtp",
                {"host", "port", "from", "starttls", "tls", "username", "password_file",
                 "password_secret", "ca_file", "timeout"},
                fs))
    return false;
  const Field* x = nullptr;
  if (!(x = fs.find("host"))) return r.fail(f, owner + " smtp needs a 'host'");
  if (!r.string(*x, s.host)) return false;
  if (!(x = fs.find("from")))
    return r.fail(f, owner + " smtp needs 'from' (the sender's address, e.g. gantry@example.com)");
  if (!r.string(*x, s.from)) return false;
  if (!plausible_address(s.from))
    return r.fail(*x, "'from' must be an e-mail address such as gantry@example.com");
  bool tls = false;
  if ((x = fs.find("tls")) && !r.boolean(*x, tls)) return false;
  if ((x = fs.find("port")) && !read_port(r, *x, s.port)) return false;
  if (!fs.find("port") && tls) s.port = 465;
  // Port 465 speaks TLS from the first byte (RFC 8314) unless told otherwise.
  if (s.port == 465 && !fs.find("tls")) tls = true;
  bool starttls = !tls;
  if ((x = fs.find("starttls"))) {
    if (!r.boolean(*x, starttls)) return false;
    if (starttls && tls) return r.fail(*x, "'starttls' and 'tls' exclude each other");
  }
  s.security = tls ? "tls" : starttls ? "starttls" : "plain";
  if ((x = fs.find("username")) && !r.string(*x, s.username)) return false;
  const Field* file = fs.find("password_file");
  const Field* secret = fs.find("password_secret");
  if (file && secret)
    return r.fail(secret->key, owner + " has both 'password_file' and 'password_secret'");
  if ((file || secret) && s.username.empty())
    return r.fail((file ? file : secret)->key, owner + " has a password but no 'username'");
  if (!s.username.empty() && !file && !secret)
    return r.fail(f,
                  owner + " smtp has a 'username' and needs 'password_file' or 'password_secret'");
  if (file && !read_small_file(r, *file, s.password)) return false;
  if (secret) {
    std::string id;
    if (!r.string(*secret, id)) return false;
    auto it = c.secrets.find(id);
    if (it == c.secrets.end())
      return r.fail(*secret, "'password_secret' names '" + id + "', which is not under secrets:");
    s.password = it->second.value;
  }
  if (!s.username.empty() && s.security == "plain" && s.host != "localhost" &&
      !s.host.starts_with("127.") && s.host != "::1")
    return r.fail(fs.find("starttls") ? fs.find("starttls")->value : f.value,
                  owner + " would send its password in clear text to " + s.host +
                      ": use starttls (or tls) with a username");
  if ((x = fs.find("ca_file")) && !r.string(*x, s.ca_file)) return false;
  if ((x = fs.find("timeout"))) {
    if (!r.duration(*x, s.timeout_ms)) return false;
    if (s.timeout_ms <= 0 || s.timeout_ms > 10 * 60 * 1000)
      return r.fail(*x, "'timeout' must be more than 0 and at most 10m");
  }
  return true;
}

bool read_events(Reader& r, const Field& f, std::vector<std::string>& out) {
  if (!r.string_list(f, out)) return false;
  std::vector<std::string_view> known(std::begin(kNotificationEvents),
                                      std::end(kNotificationEvents));
  size_t i = 0;
  for (const std::string& e : out) {
    const YAML::Node item = f.value[i++];
    if (std::find(known.begin(), known.end(), e) != known.end()) continue;
    std::string hint = did_you_mean(e, known);
    if (hint.empty())
      hint =
          " (one of: gmud.opened, gmud.approved, gmud.rejected, gmud.expired, input.opened, "
          "canary.paused, canary.rolled_back, run.failed)";
    return r.fail(item, "unknown event '" + e + "'" + hint);
  }
  return true;
}

bool read_channel(Reader& r, const YAML::Node& item, const Config& c, NotificationChannel& ch) {
  Fields fs;
  if (!r.fields(item, "each entry of 'notifications'",
                {"name", "smtp", "to", "slack_webhook", "slack_webhook_file", "channel", "webhook",
                 "secret", "secret_file", "events"},
                fs))
    return false;
  const Field* x = fs.find("name");
  if (!x) return r.fail(item, "each entry of 'notifications' needs a 'name'");
  if (!r.string(*x, ch.name)) return false;
  if (ch.name.find_first_of(" \t\r\n/'\"") != std::string::npos || ch.name.size() > 100)
    return r.fail(*x, "a channel name is a short word such as 'release-managers'");
  const std::string owner = "channel '" + ch.name + "'";
  const Field* kind = nullptr;
  for (const Field& found : fs.all()) {  // in the file's order: the second one is the mistake
    if (found.name != "smtp" && found.name != "slack_webhook" &&
        found.name != "slack_webhook_file" && found.name != "webhook")
      continue;
    if (kind)
      return r.fail(found.key, owner + " has both '" + kind->name + "' and '" + found.name + "'");
    kind = &found;
  }
  if (!kind)
    return r.fail(item, owner +
                            " needs one of 'smtp', 'slack_webhook', 'slack_webhook_file' or "
                            "'webhook'");
  // Keys that belong to another kind of channel are mistakes, not options.
  auto only_for = [&](const char* key, NotificationChannel::Kind k, const char* what) {
    const Field* f = fs.find(key);
    if (f && ch.kind != k)
      return r.fail(f->key, "'" + std::string(key) + "' is for " + what + " channels only");
    return true;
  };
  if (kind->name == "smtp") {
    ch.kind = NotificationChannel::Kind::Smtp;
    if (!read_smtp(r, *kind, c, owner, ch.smtp)) return false;
  } else if (kind->name == "webhook") {
    ch.kind = NotificationChannel::Kind::Webhook;
    if (!r.string(*kind, ch.url)) return false;
    if (!http_url(ch.url)) return r.fail(*kind, "'webhook' must be an https:// (or http://) URL");
  } else {
    ch.kind = NotificationChannel::Kind::Slack;
    if (kind->name == "slack_webhook") {
      if (!r.string(*kind, ch.url)) return false;
    } else if (!read_small_file(r, *kind, ch.url)) {
      return false;
    }
    if (!http_url(ch.url))
      return r.fail(*kind, "'" + kind->name + "' must hold an https:// (or http://) URL");
  }
  if (!only_for("to", NotificationChannel::Kind::Smtp, "smtp") ||
      !only_for("channel", NotificationChannel::Kind::Slack, "Slack") ||
      !only_for("secret", NotificationChannel::Kind::Webhook, "webhook") ||
      !only_for("secret_file", NotificationChannel::Kind::Webhook, "webhook"))
    return false;
  if ((x = fs.find("to"))) {
    if (!r.string_list(*x, ch.to)) return false;
    if (ch.to.size() > kMaxRecipients) return r.fail(*x, "'to' holds more than 1000 addresses");
    for (size_t i = 0; i < ch.to.size(); ++i) {
      if (!plausible_address(ch.to[i]))
        return r.fail(x->value[i], "'" + ch.to[i] + "' is not an e-mail address");
    }
  }
  if ((x = fs.find("channel")) && !r.string(*x, ch.slack_channel)) return false;
  const Field* secret = fs.find("secret");
  const Field* secret_file = fs.find("secret_file");
  if (secret && secret_file)
    return r.fail(secret_file->key, owner + " has both 'secret' and 'secret_file'");
  if (secret && !r.string(*secret, ch.secret)) return false;
  if (secret_file && !read_small_file(r, *secret_file, ch.secret)) return false;
  if ((x = fs.find("events"))) {
    if (!read_events(r, *x, ch.events)) return false;
  } else {
    for (std::string_view e : kNotificationEvents) {
      if (e != "run.failed") ch.events.emplace_back(e);
    }
  }
  return true;
}

}  // namespace

bool read_notifications(Reader& r, const Field& f, Config& c) {
  if (!f.value || f.value.IsNull()) return true;
  if (!f.value.IsSequence())
    return r.fail(f, "'notifications' must be a list of channels, not " +
                         std::string(f.value.IsMap() ? "a map" : "a scalar"));
  if (f.value.size() > kMaxChannels)
    return r.fail(f, "'notifications' holds more than 100 channels");
  for (const auto& item : f.value) {
    NotificationChannel ch;
    if (!read_channel(r, item, c, ch)) return false;
    for (const NotificationChannel& other : c.notifications) {
      if (other.name == ch.name) return r.fail(item["name"], "duplicate channel '" + ch.name + "'");
    }
    c.notifications.push_back(std::move(ch));
  }
  return true;
}

}  // namespace gantry::controller::config_detail
