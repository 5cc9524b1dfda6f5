// `notifications:` of the controller config (docs/notifications.md): each kind of channel, the
// defaults, and each kind of error with its position, asserted verbatim.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config.hpp"

using namespace gantry::controller;

namespace {

Config parse_ok(const std::string& text) {
  auto result = parse_config(text, "gantry.yml");
  if (auto* e = std::get_if<ConfigError>(&result)) FAIL(e->message);
  return std::get<Config>(result);
}

std::string parse_error(const std::string& text) {
  auto result = parse_config(text, "gantry.yml");
  if (std::holds_alternative<Config>(result)) return "(no error)";
  return std::get<ConfigError>(result).message;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    path = (std::filesystem::temp_directory_path() /
            ("gantry-notify-config-" + std::to_string(::getpid()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this))))
               .string();
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("notifications: the SPEC example's channels", "[config]") {
  TempFile slack("https://hooks.slack.com/services/T0/B0/xyz\n");
  Config c = parse_ok(
      "notifications:\n"
      "  - {name: release-managers, smtp: {host: smtp.example.com, port: 587, from: "
      "gantry@example.com}, to: [rm@example.com]}\n"
      "  - {name: chat, slack_webhook_file: " +
      slack.path + "}\n");
  REQUIRE(c.notifications.size() == 2);
  const NotificationChannel& mail = c.notifications[0];
  CHECK(mail.name == "release-managers");
  CHECK(mail.kind == NotificationChannel::Kind::Smtp);
  CHECK(mail.smtp.host == "smtp.example.com");
  CHECK(mail.smtp.port == 587);
  CHECK(mail.smtp.security == "starttls");
  CHECK(mail.to == std::vector<std::string>{"rm@example.com"});
  // Without `events`, every gmud and canary event; run.failed only when asked for.
  CHECK(mail.hears("gmud.opened"));
  CHECK(mail.hears("canary.rolled_back"));
  CHECK_FALSE(mail.hears("run.failed"));
  const NotificationChannel& chat = c.notifications[1];
  CHECK(chat.kind == NotificationChannel::Kind::Slack);
  CHECK(chat.url == "https://hooks.slack.com/services/T0/B0/xyz");
}

TEST_CASE("notifications: TLS modes, passwords, webhooks and events", "[config]") {
  TempFile password("s3cret\n");
  Config c = parse_ok(
      "secrets:\n"
      "  smtp-pw: {value: from-secret}\n"
      "notifications:\n"
      "  - name: implicit\n"
      "    smtp: {host: mail.example.com, port: 465, from: ci@example.com, username: ci,\n"
      "           password_file: " +
      password.path +
      "}\n"
      "  - name: relay\n"
      "    smtp: {host: 127.0.0.1, port: 2525, from: ci@example.com, starttls: false}\n"
      "  - name: secret-pw\n"
      "    smtp: {host: mail.example.com, from: ci@example.com, username: ci, password_secret: "
      "smtp-pw, ca_file: /etc/ca.pem, timeout: 5s}\n"
      "  - {name: audit, webhook: 'https://hooks.example.com/gantry', secret: k3y, events: "
      "[gmud.approved, run.failed]}\n"
      "  - {name: slack, slack_webhook: 'https://hooks.slack.com/x', channel: '#releases'}\n");
  REQUIRE(c.notifications.size() == 5);
  CHECK(c.notifications[0].smtp.security == "tls");
  CHECK(c.notifications[0].smtp.password == "s3cret");
  CHECK(c.notifications[1].smtp.security == "plain");
  CHECK(c.notifications[1].smtp.port == 2525);
  CHECK(c.notifications[2].smtp.password == "from-secret");
  CHECK(c.notifications[2].smtp.port == 587);
  CHECK(c.notifications[2].smtp.ca_file == "/etc/ca.pem");
  CHECK(c.notifications[2].smtp.timeout_ms == 5000);
  CHECK(c.notifications[3].kind == NotificationChannel::Kind::Webhook);
  CHECK(c.notifications[3].secret == "k3y");
  CHECK(c.notifications[3].events == std::vector<std::string>{"gmud.approved", "run.failed"});
  CHECK(c.notifications[4].slack_channel == "#releases");
}

TEST_CASE("notifications: mistakes are refused at their place", "[config]") {
  CHECK(parse_error("notifications:\n  - {name: x, smtp: {host: h, from: a@b.c, prot: 25}}\n") ==
        "gantry.yml:2:44: error: unknown key 'prot' (did you mean 'port'?)\n"
        "  - {name: x, smtp: {host: h, from: a@b.c, prot: 25}}\n"
        "                                           ^");
  CHECK(parse_error("notifications:\n  - {name: x, smtp: {host: h}}\n") ==
        "gantry.yml:2:21: error: channel 'x' smtp needs 'from' (the sender's address, e.g. "
        "gantry@example.com)\n"
        "  - {name: x, smtp: {host: h}}\n"
        "                    ^");
  CHECK(
      parse_error("notifications:\n  - {name: x, webhook: 'https://h/x', events: [gmud.open]}\n") ==
      "gantry.yml:2:48: error: unknown event 'gmud.open' (did you mean 'gmud.opened'?)\n"
      "  - {name: x, webhook: 'https://h/x', events: [gmud.open]}\n"
      "                                               ^");
  CHECK(parse_error("notifications:\n  - {name: x, webhook: 'https://h/x', slack_webhook: "
                    "'https://s/x'}\n") ==
        "gantry.yml:2:39: error: channel 'x' has both 'webhook' and 'slack_webhook'\n"
        "  - {name: x, webhook: 'https://h/x', slack_webhook: 'https://s/x'}\n"
        "                                      ^");
  CHECK(parse_error("notifications:\n  - {name: x, webhook: 'https://h/x', to: [a@b.c]}\n") ==
        "gantry.yml:2:39: error: 'to' is for smtp channels only\n"
        "  - {name: x, webhook: 'https://h/x', to: [a@b.c]}\n"
        "                                      ^");
  CHECK(parse_error("notifications:\n  - {name: x}\n") ==
        "gantry.yml:2:5: error: channel 'x' needs one of 'smtp', 'slack_webhook', "
        "'slack_webhook_file' or 'webhook'\n"
        "  - {name: x}\n"
        "    ^");
  CHECK(parse_error("notifications:\n  - {name: x, webhook: ftp://h/x}\n") ==
        "gantry.yml:2:24: error: 'webhook' must be an https:// (or http://) URL\n"
        "  - {name: x, webhook: ftp://h/x}\n"
        "                       ^");
  CHECK(parse_error("notifications:\n  - {name: x, smtp: {host: mail.example.com, from: a@b.c, "
                    "starttls: false, username: u, password_secret: pw}}\n") ==
        "gantry.yml:2:106: error: 'password_secret' names 'pw', which is not under secrets:\n"
        "  - {name: x, smtp: {host: mail.example.com, from: a@b.c, starttls: false, username: u, "
        "password_secret: pw}}\n"
        "                                                                                          "
        "               ^");
  CHECK(parse_error("secrets: {pw: {value: p}}\n"
                    "notifications:\n  - {name: x, smtp: {host: mail.example.com, from: a@b.c, "
                    "starttls: false, username: u, password_secret: pw}}\n") ==
        "gantry.yml:3:69: error: channel 'x' would send its password in clear text to "
        "mail.example.com: use starttls (or tls) with a username\n"
        "  - {name: x, smtp: {host: mail.example.com, from: a@b.c, starttls: false, username: u, "
        "password_secret: pw}}\n"
        "                                                                    ^");
  CHECK(
      parse_error("notifications:\n  - {name: x, smtp: {host: h, from: a@b.c}, to: [nobody]}\n") ==
      "gantry.yml:2:50: error: 'nobody' is not an e-mail address\n"
      "  - {name: x, smtp: {host: h, from: a@b.c}, to: [nobody]}\n"
      "                                                 ^");
  CHECK(parse_error("notifications:\n  - {name: x, webhook: 'https://h/x'}\n"
                    "  - {name: x, webhook: 'https://h/y'}\n") ==
        "gantry.yml:3:12: error: duplicate channel 'x'\n"
        "  - {name: x, webhook: 'https://h/y'}\n"
        "           ^");
  CHECK(parse_error("notifications:\n  - {name: x, slack_webhook_file: /nonexistent/gantry}\n") ==
        "gantry.yml:2:35: error: cannot read 'slack_webhook_file' /nonexistent/gantry: No such "
        "file or directory\n"
        "  - {name: x, slack_webhook_file: /nonexistent/gantry}\n"
        "                                  ^");
  CHECK(parse_error("notifications: {name: x}\n") ==
        "gantry.yml:1:16: error: 'notifications' must be a list of channels, not a map\n"
        "notifications: {name: x}\n"
        "               ^");
}
