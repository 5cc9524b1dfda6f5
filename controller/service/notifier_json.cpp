// The notifier's JSON bodies (Slack's incoming-webhook shape, the generic webhook's) and the
// generic webhook's signature. nlohmann_json and OpenSSL's HMAC stay in this file.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "service/notifier.hpp"

namespace gantry::controller {

using nlohmann::json;

namespace {

// Text is the team's (commit messages, step arguments): never throw on invalid UTF-8.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string slack_json(const std::string& text, const std::string& channel,
                       const std::string& color, const std::string& attachment) {
  json j = json::object();
  if (!text.empty()) j["text"] = text;
  if (!channel.empty()) j["channel"] = channel;
  if (!attachment.empty()) {
    json a = {{"text", attachment}, {"fallback", text.empty() ? attachment : text}};
    if (!color.empty()) a["color"] = color;
    j["attachments"] = json::array({a});
  }
  return dump(j);
}

std::string webhook_json(const NotifyEvent& e, const std::string& url) {
  json j = json::object();
  for (const auto& [k, v] : e.fields) j[k] = v;
  j["event"] = e.event;
  j["message"] = e.subject;
  j["text"] = e.text;
  j["url"] = url;
  return dump(j);
}

std::string webhook_signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len))
    return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

}  // namespace gantry::controller
