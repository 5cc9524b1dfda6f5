// smtp_send: one SMTP session on a private io_context, each step bounded by the tcp_stream's
// deadline, the way http_client.cpp runs its exchange.
#include "gantry/net/smtp_client.hpp"

#include <openssl/evp.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "beast.hpp"
#include "stream.hpp"
#include "tls_context.hpp"

namespace gantry::net {
namespace {

constexpr size_t kMaxReplyLine = 4096;
constexpr int kMaxReplyLines = 100;
constexpr size_t kMaxRecipients = 1000;

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // the text after the code
  std::string text() const {
    std::string out = std::to_string(code);
    for (size_t i = 0; i < lines.size() && i < 3; ++i) out += (i ? "; " : " ") + lines[i];
    return out;
  }
};

class Session {
 public:
  Session(const SmtpOptions& o) : o_(o), where_("smtp " + host_port()), stream_(tcp_stream()) {}

  SmtpResult run(const MailMessage& m) {
    if (!connect()) return result_;
    if (o_.security == SmtpOptions::Security::Tls && !start_tls()) return result_;
    Reply r;
    if (!expect("the greeting", 220, r)) return result_;
    if (!hello()) return result_;
    if (o_.security == SmtpOptions::Security::StartTls) {
      if (!extensions_.count("STARTTLS"))
        return fail(
            "the server does not offer STARTTLS (set starttls: false to send in clear "
            "text)");
      if (!command("STARTTLS", 220, r)) return result_;
      // Anything the server sent before the handshake could be an injected reply.
      if (!inbuf_.empty()) return fail("the server sent data after its STARTTLS reply");
      if (!start_tls() || !hello()) return result_;
    }
    if (!o_.username.empty() && !authenticate()) return result_;
    return send(m);
  }

 private:
  std::string host_port() const {
    const bool v6 = o_.host.find(':') != std::string::npos;
    return (v6 ? "[" + o_.host + "]" : o_.host) + ":" + std::to_string(o_.port);
  }

  beast::tcp_stream tcp_stream() { return beast::tcp_stream(io_); }

  SmtpResult fail(const std::string& what) {
    result_.ok = false;
    result_.error = where_ + ": " + what;
    return result_;
  }
  bool failed(const std::string& what) {
    fail(what);
    return false;
  }
  bool transport(std::string_view step, const error_code& ec) {
    if (ec == beast::error::timeout)
      return failed(std::string(step) + ": no answer within " + std::to_string(o_.timeout.count()) +
                    " ms");
    return failed(std::string(step) + ": " + describe(ec));
  }

  bool connect() {
    error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(o_.host, std::to_string(o_.port), ec);
    if (ec) return failed("resolve: " + describe(ec));
    stream_.tcp().expires_after(o_.timeout);
    ec = run_step(io_, [&](auto h) { stream_.tcp().async_connect(endpoints, std::move(h)); });
    if (ec) return transport("connect", ec);
    return true;
  }

  bool start_tls() {
    std::string error;
    auto context = client_context(o_.tls, error);
    if (!context) return failed(error);
    Stream upgraded(std::move(stream_.tcp()), std::move(context));
    stream_ = std::move(upgraded);
    prepare_client(stream_.tls(), o_.host, o_.tls);
    stream_.tcp().expires_after(o_.timeout);
    error_code ec = run_step(io_, [&](auto h) {
      stream_.tls().async_handshake(ssl::stream_base::client, std::move(h));
    });
    if (ec) return failed("tls handshake: " + describe_handshake(stream_.tls(), ec));
    tls_ = true;
    return true;
  }

  bool read_line(std::string& line, const std::string& after) {
    stream_.tcp().expires_after(o_.timeout);
    size_t n = 0;
    error_code ec = run_step(io_, [&](auto h) {
      asio::async_read_until(stream_, asio::dynamic_buffer(inbuf_, kMaxReplyLine), "\n",
                             [&n, h = std::move(h)](error_code e, size_t got) mutable {
                               n = got;
                               h(e);
                             });
    });
    if (ec == asio::error::not_found)
      return failed("a reply line " + after + " is longer than " + std::to_string(kMaxReplyLine) +
                    " bytes");
    if (ec == asio::error::eof) return failed("the server closed the connection " + after);
    if (ec) return transport("read " + after, ec);
    line = inbuf_.substr(0, n);
    inbuf_.erase(0, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return true;
  }

  // One reply, possibly multi-line ("250-..." then "250 ...").
  bool read_reply(Reply& r, const std::string& after) {
    r = Reply{};
    for (int i = 0; i < kMaxReplyLines; ++i) {
      std::string line;
      if (!read_line(line, after)) return false;
      bool digits = line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3,
                                                    [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
        return failed("a malformed reply " + after + ": '" + line.substr(0, 100) + "'");
      int code = std::stoi(line.substr(0, 3));
      if (i > 0 && code != r.code) return failed("a reply " + after + " changes its code");
      r.code = code;
      result_.code = code;
      r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
      if (line.size() <= 3 || line[3] == ' ') return true;
    }
    return failed("a reply " + after + " of more than " + std::to_string(kMaxReplyLines) +
                  " lines");
  }

  bool expect(const std::string& after, int want, Reply& r) {
    if (!read_reply(r, after)) return false;
    if (r.code != want && !(want == 250 && r.code == 251)) return failed(r.text());
    return true;
  }

  bool write(const std::string& bytes, const std::string& what) {
    stream_.tcp().expires_after(o_.timeout);
    error_code ec = run_step(
        io_, [&](auto h) { asio::async_write(stream_, asio::buffer(bytes), std::move(h)); });
    if (ec) return transport("write " + what, ec);
    return true;
  }

  // `shown` names the command in messages (AUTH lines carry secrets).
  bool command(const std::string& line, int want, Reply& r, std::string shown = "") {
    if (shown.empty()) shown = line.substr(0, line.find(' '));
    if (!write(line + "\r\n", shown)) return false;
    return expect("after " + shown, want, r);
  }

  bool hello() {
    Reply r;
    if (!command("EHLO " + o_.helo_name, 250, r)) return false;
    extensions_.clear();
    auth_.clear();
    for (size_t i = 1; i < r.lines.size(); ++i) {
      std::string word = upper(r.lines[i].substr(0, r.lines[i].find(' ')));
      extensions_.insert(word);
      if (word == "AUTH") auth_ = " " + upper(r.lines[i].substr(4)) + " ";
    }
    return true;
  }

  bool authenticate() {
    if (!tls_ && !is_loopback(o_.host))
      return failed("refusing to send the password without TLS (use starttls, or port 465)");
    Reply r;
    if (auth_.find(" PLAIN ") != std::string::npos) {
      std::string token = base64(std::string(1, '\0') + o_.username + '\0' + o_.password);
      return command("AUTH PLAIN " + token, 235, r, "AUTH PLAIN");
    }
    if (auth_.find(" LOGIN ") != std::string::npos) {
      return command("AUTH LOGIN", 334, r) &&
             command(base64(o_.username), 334, r, "AUTH LOGIN (username)") &&
             command(base64(o_.password), 235, r, "AUTH LOGIN (password)");
    }
    return failed("the server offers neither AUTH PLAIN nor AUTH LOGIN" +
                  std::string(extensions_.count("AUTH") ? "" : " (no AUTH at all)"));
  }

  SmtpResult send(const MailMessage& m) {
    if (mail_address(m.from).empty())
      return fail("invalid From address '" + m.from.substr(0, 200) + "'");
    std::string from = mail_address(m.sender.empty() ? m.from : m.sender);
    if (from.empty()) return fail("invalid sender address '" + m.sender.substr(0, 200) + "'");
    std::vector<std::string> rcpts;
    for (const auto* list : {&m.to, &m.cc, &m.bcc}) {
      for (const std::string& text : *list) {
        std::string a = mail_address(text);
        if (a.empty()) return fail("invalid recipient address '" + text.substr(0, 200) + "'");
        if (std::find(rcpts.begin(), rcpts.end(), a) == rcpts.end()) rcpts.push_back(a);
      }
    }
    if (rcpts.empty()) return fail("no recipient");
    if (rcpts.size() > kMaxRecipients) return fail("more than 1000 recipients");
    Reply r;
    if (!command("MAIL FROM:<" + from + ">", 250, r, "MAIL FROM")) return result_;
    for (const std::string& a : rcpts) {
      if (!command("RCPT TO:<" + a + ">", 250, r, "RCPT TO")) {
        result_.error += " (recipient " + a + ")";
        return result_;
      }
    }
    if (!command("DATA", 354, r)) return result_;
    std::string id = message_id();
    auto now = std::chrono::system_clock::now().time_since_epoch();
    std::string data = dot_stuff(
        format_mail(m, std::chrono::duration_cast<std::chrono::seconds>(now).count(), id));
    if (!write(data + ".\r\n", "the message")) return result_;
    if (!expect("after the message", 250, r)) return result_;
    result_.ok = true;
    result_.error.clear();
    // A failed QUIT loses nothing: the message was accepted.
    if (write("QUIT\r\n", "QUIT")) (void)read_reply(r, "after QUIT");
    result_.ok = true;
    result_.error.clear();
    error_code ignored;
    stream_.tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    return result_;
  }

  std::string message_id() const {
    std::random_device rd;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (int i = 0; i < 24; ++i) id += kHex[rd() % 16];
    return id + "@" + o_.helo_name;
  }

  const SmtpOptions& o_;
  std::string where_;
  asio::io_context io_;
  Stream stream_;
  std::string inbuf_;
  bool tls_ = false;
  std::set<std::string> extensions_;
  std::string auth_;  // " PLAIN LOGIN " from the EHLO reply
  SmtpResult result_;
};

}  // namespace

SmtpResult smtp_send(const SmtpOptions& options, const MailMessage& message) {
  if (options.host.empty()) return SmtpResult{false, "smtp: no host", 0};
  try {
    Session s(options);
    return s.run(message);
  } catch (const std::exception& e) {
    return SmtpResult{false, "smtp " + options.host + ": " + e.what(), 0};
  }
}

}  // namespace gantry::net
