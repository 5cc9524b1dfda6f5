// smtp_send against a real SMTP server (aiosmtpd, tests/support/smtp_server.py) on loopback:
// plain, STARTTLS with AUTH and a verified certificate, the errors a user reads (a wrong
// password, a server that never answers, a certificate from another CA, no STARTTLS), and the
// message's formatting (RFC 2047 subjects, dot-stuffing, addresses).
#include "gantry/net/smtp_client.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>

#include "../support/py_server.hpp"
#include "../support/test_pki.hpp"

using namespace gantry::net;
using gantry::test::PyServer;
using nlohmann::json;

namespace {

// Made once per process, removed at its exit.
const gantry::test::TestPki& pki() {
  struct Made {
    gantry::test::TestPki p;
    ~Made() {
      std::error_code ignored;
      std::filesystem::remove_all(p.dir, ignored);
    }
  };
  static const Made made{gantry::test::make_test_pki(
      std::filesystem::temp_directory_path() / ("gantry-smtp-pki-" + std::to_string(::getpid())))};
  return made.p;
}

MailMessage message() {
  MailMessage m;
  m.from = "Gantry <gantry@example.com>";
  m.to = {"rosa@example.com"};
  m.cc = {"Ops Team <ops@example.com>"};
  m.bcc = {"audit@example.com"};
  m.subject = "Déploiement prêt ✓";
  m.body = "first line\n.starts with a dot\n..two dots\nlast";
  return m;
}

SmtpOptions options(const PyServer& server, SmtpOptions::Security security) {
  SmtpOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(server.port());
  o.security = security;
  o.timeout = std::chrono::seconds(10);
  return o;
}

json received(const PyServer& server) {
  auto lines = server.wait_lines("messages.jsonl", 1, std::chrono::seconds(10));
  REQUIRE(lines.size() == 1);
  return json::parse(lines[0]);
}

}  // namespace

TEST_CASE("mail_address takes an address or a named one and refuses the rest", "[smtp]") {
  CHECK(mail_address("a@b.org") == "a@b.org");
  CHECK(mail_address(" Rosa Lima <rosa@example.com> ") == "rosa@example.com");
  CHECK(mail_address("rosa@example.com\r\nRCPT TO:<x@y>").empty());
  CHECK(mail_address("no-at-sign").empty());
  CHECK(mail_address("a b@c.org").empty());
  CHECK(mail_address("<a@b.org> trailing").empty());
  CHECK(mail_address("josé@example.com").empty());
}

TEST_CASE("subjects with non-ASCII text become RFC 2047 encoded words", "[smtp]") {
  CHECK(encode_header_text("plain subject") == "plain subject");
  CHECK(encode_header_text("Déploiement prêt ✓") == "=?UTF-8?B?RMOpcGxvaWVtZW50IHByw6p0IOKckw==?=");
  CHECK(encode_header_text("line\r\nBcc: x@y") == "line  Bcc: x@y");
  // Long text: several words of at most 75 characters, never a UTF-8 character cut in two.
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "ção ";
  std::string encoded = encode_header_text(long_text);
  size_t start = 0;
  int words = 0;
  while (start < encoded.size()) {
    size_t end = encoded.find("\r\n ", start);
    std::string word = encoded.substr(start, end - start);
    CHECK(word.size() <= 75);
    CHECK(word.starts_with("=?UTF-8?B?"));
    ++words;
    if (end == std::string::npos) break;
    start = end + 3;
  }
  CHECK(words > 1);
}

TEST_CASE("dot_stuff doubles a dot that starts a line", "[smtp]") {
  CHECK(dot_stuff(".a\r\nb\r\n..c\r\n") == "..a\r\nb\r\n...c\r\n");
  CHECK(dot_stuff("x.y\r\n") == "x.y\r\n");
}

TEST_CASE("format_mail writes the RFC 5322 headers and hides Bcc", "[smtp]") {
  std::string text = format_mail(message(), 1767225600, "abc@gantry");
  CHECK(text.find("From: \"Gantry\" <gantry@example.com>\r\n") != std::string::npos);
  CHECK(text.find("To: rosa@example.com\r\n") != std::string::npos);
  CHECK(text.find("Cc: \"Ops Team\" <ops@example.com>\r\n") != std::string::npos);
  CHECK(text.find("audit@example.com") == std::string::npos);
  CHECK(text.find("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n") != std::string::npos);
  CHECK(text.find("Message-ID: <abc@gantry>\r\n") != std::string::npos);
  CHECK(text.find("MIME-Version: 1.0\r\n") != std::string::npos);
  CHECK(text.find("Content-Type: text/plain; charset=UTF-8\r\n") != std::string::npos);
  CHECK(text.find("Content-Transfer-Encoding: 7bit\r\n\r\nfirst line\r\n.starts") !=
        std::string::npos);
  MailMessage html = message();
  html.mime_type = "text/html";
  html.body = "<p>olá</p>";
  std::string h = format_mail(html, 0, "x@y");
  CHECK(h.find("Content-Type: text/html; charset=UTF-8\r\n") != std::string::npos);
  CHECK(h.find("Content-Transfer-Encoding: base64\r\n\r\nPHA+b2zDoTwvcD4NCg==\r\n") !=
        std::string::npos);
}

TEST_CASE("smtp_send delivers in clear text to a loopback server", "[smtp]") {
  PyServer server("smtp_server.py", "smtp-plain");
  SmtpResult r = smtp_send(options(server, SmtpOptions::Security::Plain), message());
  INFO(r.error);
  REQUIRE(r.ok);
  json m = received(server);
  CHECK(m["mail_from"] == "gantry@example.com");
  CHECK(m["rcpt_tos"] == json::array({"rosa@example.com", "ops@example.com", "audit@example.com"}));
  CHECK(m["tls"] == false);
  std::string data = m["data"];
  // Dot-stuffing undone by the server: the body arrives as written.
  CHECK(data.find("\r\n\r\nfirst line\r\n.starts with a dot\r\n..two dots\r\nlast\r\n") !=
        std::string::npos);
  CHECK(data.find("Subject: =?UTF-8?B?RMOpcGxvaWVtZW50IHByw6p0IOKckw==?=") != std::string::npos);
}

TEST_CASE("smtp_send speaks STARTTLS and AUTH with a verified certificate", "[smtp]") {
  PyServer server("smtp_server.py", "smtp-tls",
                  {"--cert", pki().server_cert, "--key", pki().server_key, "--auth", "gantry:pw1"});
  SmtpOptions o = options(server, SmtpOptions::Security::StartTls);
  o.tls.ca_file = pki().ca;
  o.username = "gantry";
  o.password = "pw1";
  SmtpResult r = smtp_send(o, message());
  INFO(r.error);
  REQUIRE(r.ok);
  json m = received(server);
  CHECK(m["tls"] == true);
  CHECK(m["auth"] == true);

  SECTION("a wrong password is the server's 535, said clearly") {
    o.password = "wrong";
    SmtpResult bad = smtp_send(o, message());
    CHECK_FALSE(bad.ok);
    CHECK(bad.code == 535);
    CHECK(bad.error == "smtp 127.0.0.1:" + std::to_string(server.port()) +
                           ": 535 5.7.8 Authentication credentials invalid");
  }
  SECTION("a certificate from another CA fails the handshake") {
    o.tls.ca_file = pki().other_ca;
    SmtpResult bad = smtp_send(o, message());
    CHECK_FALSE(bad.ok);
    CHECK(bad.error.find("tls handshake: ") != std::string::npos);
    CHECK(bad.error.find("certificate verify failed") != std::string::npos);
  }
  SECTION("in clear text the server wants STARTTLS first") {
    SmtpResult bad = smtp_send(options(server, SmtpOptions::Security::Plain), message());
    CHECK_FALSE(bad.ok);
    CHECK(bad.code == 530);
  }
}

TEST_CASE("smtp_send refuses a server without STARTTLS when it was asked for", "[smtp]") {
  PyServer server("smtp_server.py", "smtp-nostarttls");
  SmtpResult r = smtp_send(options(server, SmtpOptions::Security::StartTls), message());
  CHECK_FALSE(r.ok);
  CHECK(r.error == "smtp 127.0.0.1:" + std::to_string(server.port()) +
                       ": the server does not offer STARTTLS (set starttls: false to send in "
                       "clear text)");
  CHECK(server.read("messages.jsonl").empty());
}

TEST_CASE("smtp_send gives up on a server that never answers within its timeout", "[smtp]") {
  PyServer server("smtp_server.py", "smtp-mute", {"--mute"});
  SmtpOptions o = options(server, SmtpOptions::Security::Plain);
  o.timeout = std::chrono::milliseconds(700);
  auto start = std::chrono::steady_clock::now();
  SmtpResult r = smtp_send(o, message());
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(r.ok);
  CHECK(r.error == "smtp 127.0.0.1:" + std::to_string(server.port()) +
                       ": read the greeting: no answer within 700 ms");
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("smtp_send refuses bad addresses before sending anything", "[smtp]") {
  PyServer server("smtp_server.py", "smtp-bad-address");
  MailMessage m = message();
  m.to = {"rosa@example.com>\r\nRCPT TO:<evil@example.com"};
  SmtpResult r = smtp_send(options(server, SmtpOptions::Security::Plain), m);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("invalid recipient address") != std::string::npos);
  CHECK(server.read("messages.jsonl").empty());
}
