#pragma once
// URL parsing and percent-encoding for gantry_net's clients and server. Hand-written: it accepts
// the absolute URLs Gantry itself uses (http, https, ws, wss; host or [IPv6]; optional port) and
// rejects the rest (user-info, other schemes, bad ports) with nullopt. Pure functions; no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace gantry::net {

struct Url {
  std::string scheme;  // lower-case: "http", "https", "ws", "wss"
  std::string host;    // lower-case; an IPv6 address without its brackets
  uint16_t port = 0;   // the scheme's default port when the URL has none
  std::string target;  // path and query, "/" if empty; the fragment is dropped
};

std::optional<Url> parse_url(std::string_view url);

// "host:port", with brackets around an IPv6 host: for Host headers and messages.
std::string host_port(const Url& url);

// Percent-encodes everything but the RFC 3986 unreserved characters.
std::string url_encode(std::string_view text);
// Decodes %XX (a malformed escape is kept as is) and, when plus_as_space, '+' as ' '.
std::string url_decode(std::string_view text, bool plus_as_space = true);

// A request target split into its decoded path and query parameters (the first value of a
// repeated key wins). The path is decoded with '+' kept, so "%2F" becomes '/': handlers that map
// paths to files must check for "..".
struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};
Target parse_target(std::string_view target);

}  // namespace gantry::net
