// The operators' web page: GET / and GET /assets/NAME, from the files of web/
// embedded at build time (gantry_web). The page needs no token; every API
// call it makes does. Unknown assets get 404; methods other than GET and
// HEAD get 405. Cache-Control: no-cache with an ETag, so a browser
// revalidates (304) and an upgraded controller's page is seen at once.
#include <cstdint>
#include <string_view>

#include "service/api_json.hpp"
#include "service/routes.hpp"
#include "web_assets.hpp"

namespace gantry::controller {

namespace {

constexpr std::string_view kAssetPrefix = "/assets/";

std::string_view content_type_of(std::string_view name) {
  auto ends_with = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

// FNV-1a: the ETag only has to change when the bytes do.
std::string etag_of(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string tag = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(h >> shift) & 0xf];
  tag += '"';
  return tag;
}

}  // namespace

net::Response serve_web(const net::Request& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    net::Response r = error(405, "method_not_allowed",
                            req.method + " is not allowed on " + req.path + " (use GET, HEAD)");
    r.headers.push_back({"Allow", "GET, HEAD"});
    return r;
  }
  std::string_view name = "index.html";
  if (req.path != "/") name = std::string_view(req.path).substr(kAssetPrefix.size());
  const web::Asset* asset = name.empty() ? nullptr : web::find_asset(name);
  if (!asset) return error(404, "not_found", "no asset " + req.path);
  net::Response r;
  r.content_type = std::string(content_type_of(asset->name));
  std::string etag = etag_of(asset->data);
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"ETag", etag});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  if (asset->name == "index.html") {
    // Logs and names from pipelines end up on this page: nothing but the
    // page's own files may run, and it may not be framed.
    r.headers.push_back({"Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                         "form-action 'none'; frame-ancestors 'none'"});
    r.headers.push_back({"Referrer-Policy", "no-referrer"});
  }
  if (req.header("if-none-match") == etag) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  // HEAD: the headers alone (the server frames every response with the
  // length of its body, so a HEAD answer carries none).
  if (req.method == "GET") r.body = std::string(asset->data);
  return r;
}

}  // namespace gantry::controller
