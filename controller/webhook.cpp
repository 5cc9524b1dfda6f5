// Webhook headers, signatures and repository URLs; the JSON is in webhook_json.cpp.
#include "webhook.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <climits>

namespace gantry::controller {
namespace {

using Headers = std::map<std::string, std::string>;
using Digest = std::array<unsigned char, 32>;

const std::string* header(const Headers& headers, const char* name) {
  auto it = headers.find(name);
  return it == headers.end() ? nullptr : &it->second;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool sha256(std::string_view data, Digest& out) {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1 &&
         len == out.size();
}

bool verify_github(std::string_view value, std::string_view body, std::string_view secret,
                   std::string& why) {
  constexpr std::string_view kPrefix = "sha256=";
  value = trim(value);
  if (!value.starts_with(kPrefix)) {
    why = "X-Hub-Signature-256 does not start with \"sha256=\"";
    return false;
  }
  value.remove_prefix(kPrefix.size());
  Digest sent{};
  if (value.size() != sent.size() * 2) {
    why = "X-Hub-Signature-256 has " + std::to_string(value.size()) +
          " hex digits after \"sha256=\"; an HMAC-SHA256 has 64";
    return false;
  }
  for (size_t i = 0; i < sent.size(); ++i) {
    int hi = hex_value(value[2 * i]);
    int lo = hex_value(value[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      why = "X-Hub-Signature-256 is not hexadecimal";
      return false;
    }
    sent[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  if (secret.size() > INT_MAX) {
    why = "the repository's webhook_secret is too long";
    return false;
  }
  Digest mac{};
  unsigned int len = 0;
  static const unsigned char kEmpty = 0;
  const auto* data = body.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(body.data());
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), data, body.size(),
           mac.data(), &len) == nullptr ||
      len != mac.size()) {
    why = "HMAC-SHA256 is unavailable in this OpenSSL";
    return false;
  }
  if (CRYPTO_memcmp(mac.data(), sent.data(), mac.size()) != 0) {
    why =
        "X-Hub-Signature-256 does not match the body: the webhook's secret differs from the "
        "repository's webhook_secret";
    return false;
  }
  return true;
}

bool verify_gitlab(std::string_view token, std::string_view secret, std::string& why) {
  // Hashing both sides first makes the comparison independent of the lengths.
  Digest a{};
  Digest b{};
  if (!sha256(token, a) || !sha256(secret, b)) {
    why = "SHA-256 is unavailable in this OpenSSL";
    return false;
  }
  if (CRYPTO_memcmp(a.data(), b.data(), a.size()) != 0) {
    why =
        "X-Gitlab-Token differs from the repository's webhook_secret: set the webhook's secret "
        "token to it";
    return false;
  }
  return true;
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// The canonical form url_matches compares: "scheme://host[:port]/path" with
// scheme and host lowercase, or a plain local path.
std::string canonical_url(std::string_view url) {
  url = trim(url);
  std::string scheme;
  std::string_view rest = url;
  if (size_t sep = url.find("://"); sep != std::string_view::npos) {
    scheme = lowercase(url.substr(0, sep));
    rest = url.substr(sep + 3);
  } else if (size_t colon = url.find(':');
             colon != std::string_view::npos && url.find('/') > colon && colon > 0) {
    // scp-style "git@host:owner/repo": ssh without the scheme.
    std::string joined =
        std::string(url.substr(0, colon)) + "/" + std::string(url.substr(colon + 1));
    return canonical_url("ssh://" + joined);
  }
  std::string out;
  std::string_view path = rest;
  if (scheme == "file") {
    // file:///x and file://localhost/x are the path /x.
    size_t slash = rest.find('/');
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  } else if (!scheme.empty()) {
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    std::string host = lowercase(authority);
    std::string_view port = scheme == "http"    ? ":80"
                            : scheme == "https" ? ":443"
                            : scheme == "ssh"   ? ":22"
                            : scheme == "git"   ? ":9418"
                                                : "";
    if (!port.empty() && host.ends_with(port)) host.resize(host.size() - port.size());
    out = scheme + "://" + host;
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  if (path.ends_with(".git")) path.remove_suffix(4);
  while (path.ends_with('/')) path.remove_suffix(1);
  out += path;
  return out;
}

}  // namespace

std::optional<std::string> parse_push(const Headers& headers, std::string_view body,
                                      PushEvent& out) {
  out = PushEvent{};
  const std::string* github = header(headers, "x-github-event");
  const std::string* gitlab = header(headers, "x-gitlab-event");
  if (github && gitlab) return "the request has both X-GitHub-Event and X-Gitlab-Event headers";
  if (github) {
    std::string_view event = trim(*github);
    out.provider = "github";
    if (event == "push" || event == "ping") {
      out.event = std::string(event);
    } else if (event == "pull_request") {
      out.event = "change_request";
    } else {
      return "GitHub event \"" + std::string(event) +
             "\" is not handled: Gantry builds on \"push\" and \"pull_request\" (and answers "
             "\"ping\"); select only those events for this webhook";
    }
  } else if (gitlab) {
    std::string_view event = trim(*gitlab);
    out.provider = "gitlab";
    if (event == "Push Hook") {
      out.event = "push";
    } else if (event == "Tag Push Hook") {
      out.event = "tag_push";
    } else if (event == "Merge Request Hook") {
      out.event = "change_request";
    } else {
      return "GitLab event \"" + std::string(event) +
             "\" is not handled: Gantry builds on \"Push Hook\", \"Tag Push Hook\" and "
             "\"Merge Request Hook\"; enable only those events for this webhook";
    }
  } else {
    return "no X-GitHub-Event or X-Gitlab-Event header: Gantry accepts webhooks from GitHub and "
           "GitLab";
  }
  if (body.size() > kMaxWebhookBody) {
    return "the body of " + std::to_string(body.size()) + " bytes is over the limit of " +
           std::to_string(kMaxWebhookBody) + " bytes";
  }
  return decode_push_body(body, out);
}

bool verify_signature(const Headers& headers, std::string_view body, std::string_view secret,
                      std::string& why) {
  why.clear();
  if (secret.empty()) {
    why = "the repository has no webhook_secret; webhooks are refused";
    return false;
  }
  const std::string* signature = header(headers, "x-hub-signature-256");
  const std::string* token = header(headers, "x-gitlab-token");
  if (signature && token) {
    why = "the request has both X-Hub-Signature-256 and X-Gitlab-Token; send one";
    return false;
  }
  if (signature) return verify_github(*signature, body, secret, why);
  if (token) return verify_gitlab(*token, secret, why);
  if (header(headers, "x-hub-signature")) {
    why =
        "only X-Hub-Signature (SHA-1) is present; Gantry requires X-Hub-Signature-256: set a "
        "secret on the GitHub webhook";
  } else {
    why =
        "no X-Hub-Signature-256 or X-Gitlab-Token header: set the webhook's secret to the "
        "repository's webhook_secret";
  }
  return false;
}

bool url_matches(std::string_view configured, std::string_view payload_url) {
  std::string a = canonical_url(configured);
  return !a.empty() && a == canonical_url(payload_url);
}

bool names_repository(const PushEvent& event, std::string_view configured) {
  for (const std::string& url : event.repo_urls) {
    if (url_matches(configured, url)) return true;
  }
  return false;
}

}  // namespace gantry::controller
