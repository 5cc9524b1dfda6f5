#pragma once
// smtp_send: a small synchronous SMTP client (RFC 5321) for the controller's notifier, and the
// RFC 5322 formatting of the message it sends. One message per connection: EHLO, STARTTLS (or
// TLS from the first byte, port 465), AUTH PLAIN or LOGIN when a username is set, MAIL FROM,
// one RCPT TO per recipient, DATA with dot-stuffing, QUIT.
//
// Security: STARTTLS is required when asked for (a server that does not offer it is an error,
// never a silent downgrade); the server's certificate is verified against ca_file or the
// system's CAs, and its name against the host. Credentials are never sent in clear text: AUTH
// without TLS is refused unless the host is a loopback address (a local relay).
//
// Bounds: every read and write step has `timeout`; a reply line past 4 KiB or a reply of more
// than 100 lines is an error; addresses and header values with CR or LF are refused. Errors
// come back as SmtpResult::error, such as "smtp 127.0.0.1:2525: 535 authentication failed";
// nothing throws.
//
// Threading: blocks the calling thread, with a private I/O context per call; any thread may
// call it. Not for an EventLoop thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/net/tls.hpp"

namespace gantry::net {

struct SmtpOptions {
  std::string host;
  uint16_t port = 587;
  enum class Security { StartTls, Tls, Plain };
  Security security = Security::StartTls;
  std::string username, password;  // no username: no AUTH
  TlsClientOptions tls;            // ca_file; insecure_skip_verify is honoured (tests only)
  std::string helo_name = "gantry";
  std::chrono::milliseconds timeout{30000};  // per step: connect, each read, each write
};

struct MailMessage {
  std::string from;    // "gantry@example.com" or "Gantry <gantry@example.com>"
  std::string sender;  // the envelope's MAIL FROM; empty: from's address
  std::vector<std::string> to, cc, bcc;
  std::string reply_to;
  std::string subject;
  std::string body;
  std::string mime_type = "text/plain";  // text/plain | text/html
  std::string charset = "UTF-8";
};

struct SmtpResult {
  bool ok = false;
  std::string error;
  int code = 0;  // the server's last reply code (0 when it never answered)
};

SmtpResult smtp_send(const SmtpOptions& options, const MailMessage& message);

// ---- formatting (pure; used by smtp_send, exposed for tests) -------------

// The addr-spec of "Name <a@b>" or "a@b"; "" when it is not one address (CR, LF, spaces,
// angle brackets out of place, no '@', non-ASCII).
std::string mail_address(std::string_view text);
// A header value as RFC 2047 encoded-words (=?UTF-8?B?...?=, each at most 75 characters,
// split between UTF-8 characters) when it holds anything but printable ASCII; as is otherwise.
std::string encode_header_text(std::string_view text);
// The message as sent after DATA (before dot-stuffing): headers (From, To, Cc, Reply-To,
// Subject, Date, Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding), a blank
// line, the body with CRLF line ends (base64 when it is not short-lined 7-bit text). Bcc is
// not shown. `unix_seconds` is the Date; `message_id` without its angle brackets.
std::string format_mail(const MailMessage& message, int64_t unix_seconds,
                        const std::string& message_id);
// A line starting with '.' gets another '.' (RFC 5321 4.5.2); lines must end with CRLF.
std::string dot_stuff(std::string_view crlf_text);

// RFC 4648 base64 (AUTH PLAIN and LOGIN, MIME bodies and encoded words).
std::string base64(std::string_view bytes);

}  // namespace gantry::net
