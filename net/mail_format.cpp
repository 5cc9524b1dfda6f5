// The message smtp_send sends: RFC 5322 headers, RFC 2047 encoded words, base64 bodies and
// dot-stuffing. Pure functions; no I/O.
#include <openssl/evp.h>

#include <ctime>

#include "gantry/net/smtp_client.hpp"

namespace gantry::net {
namespace {

constexpr size_t kMaxLine = 998;  // RFC 5322 2.1.1, without the CRLF

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// CR, LF and other controls become spaces: a header value never starts another header.
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\t' || c == '\0') c = ' ';
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(' ');
  return std::string(s.substr(b, e - b + 1));
}

// "Name <a@b>" as a header shows it: the name quoted or encoded as needed.
std::string header_address(std::string_view text) {
  std::string addr = mail_address(text);
  size_t lt = text.find('<');
  if (lt == std::string_view::npos) return addr;
  std::string name = trim(one_line(text.substr(0, lt)));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
    name = name.substr(1, name.size() - 2);
  if (name.empty()) return "<" + addr + ">";
  if (!printable_ascii(name)) return encode_header_text(name) + " <" + addr + ">";
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\" <" + addr + ">";
}

std::string address_list(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& a : list) {
    if (!out.empty()) out += ",\r\n ";
    out += header_address(a);
  }
  return out;
}

std::string rfc5322_date(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

// A MIME token for Content-Type: letters, digits and -+./ only.
std::string token(std::string_view s, std::string_view fallback) {
  if (s.empty() || s.size() > 64) return std::string(fallback);
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '+' || c == '.' || c == '/' || c == '_';
    if (!ok) return std::string(fallback);
  }
  return std::string(s);
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32 + 2);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

bool seven_bit_short_lines(std::string_view crlf) {
  size_t line = 0;
  for (char c : crlf) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\0') return false;
    line = c == '\n' ? 0 : line + 1;
    if (line > kMaxLine) return false;
  }
  return true;
}

}  // namespace

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string mail_address(std::string_view text) {
  if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return {};
  std::string_view addr = text;
  size_t lt = text.find('<');
  if (lt != std::string_view::npos) {
    size_t gt = text.find('>', lt);
    if (gt == std::string_view::npos || text.find_first_not_of(' ', gt + 1) != std::string::npos)
      return {};
    addr = text.substr(lt + 1, gt - lt - 1);
  } else {
    while (!addr.empty() && addr.front() == ' ') addr.remove_prefix(1);
    while (!addr.empty() && addr.back() == ' ') addr.remove_suffix(1);
  }
  if (addr.empty() || addr.size() > 254) return {};
  size_t at = addr.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == addr.size()) return {};
  for (char c : addr) {
    if (c <= ' ' || c > '~' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
        c == ';' || c == '"' || c == '\\')
      return {};
  }
  return std::string(addr);
}

std::string encode_header_text(std::string_view text) {
  std::string line = one_line(text);
  if (printable_ascii(line) && line.size() <= 900) return line;
  // 45 bytes of input are 60 base64 characters: with "=?UTF-8?B?" and "?=", 72 in all.
  constexpr size_t kChunk = 45;
  std::string out;
  size_t i = 0;
  while (i < line.size()) {
    size_t n = std::min(kChunk, line.size() - i);
    // Never split a UTF-8 character: back off over continuation bytes.
    while (n > 1 && i + n < line.size() && (static_cast<unsigned char>(line[i + n]) & 0xC0) == 0x80)
      --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(line).substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

std::string format_mail(const MailMessage& m, int64_t unix_seconds, const std::string& message_id) {
  std::string h;
  h += "From: " + header_address(m.from) + "\r\n";
  if (!m.to.empty()) h += "To: " + address_list(m.to) + "\r\n";
  if (!m.cc.empty()) h += "Cc: " + address_list(m.cc) + "\r\n";
  if (!m.reply_to.empty()) h += "Reply-To: " + header_address(m.reply_to) + "\r\n";
  h += "Subject: " + encode_header_text(m.subject) + "\r\n";
  h += "Date: " + rfc5322_date(unix_seconds) + "\r\n";
  h += "Message-ID: <" + one_line(message_id) + ">\r\n";
  h += "MIME-Version: 1.0\r\n";
  h += "Content-Type: " + token(m.mime_type, "text/plain") +
       "; charset=" + token(m.charset, "UTF-8") + "\r\n";
  std::string body = crlf_lines(m.body);
  if (seven_bit_short_lines(body)) {
    h += "Content-Transfer-Encoding: 7bit\r\n\r\n";
    return h + body;
  }
  h += "Content-Transfer-Encoding: base64\r\n\r\n";
  std::string encoded = base64(body);  // text in canonical form: CRLF line ends
  for (size_t i = 0; i < encoded.size(); i += 76) h += encoded.substr(i, 76) + "\r\n";
  return h;
}

std::string dot_stuff(std::string_view crlf_text) {
  std::string out;
  out.reserve(crlf_text.size() + 16);
  bool line_start = true;
  for (char c : crlf_text) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  return out;
}

}  // namespace gantry::net
