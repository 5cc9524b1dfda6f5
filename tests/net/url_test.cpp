#include "gantry/net/url.hpp"

#include <catch2/catch.hpp>

using gantry::net::parse_target;
using gantry::net::parse_url;
using gantry::net::url_decode;
using gantry::net::url_encode;

TEST_CASE("parse_url: default ports per scheme", "[net][url]") {
  auto http = parse_url("http://example.com");
  REQUIRE(http);
  CHECK(http->scheme == "http");
  CHECK(http->host == "example.com");
  CHECK(http->port == 80);
  CHECK(http->target == "/");
  CHECK(parse_url("https://example.com")->port == 443);
  CHECK(parse_url("ws://example.com")->port == 80);
  CHECK(parse_url("wss://example.com")->port == 443);
}

TEST_CASE("parse_url: port, path, query, fragment", "[net][url]") {
  auto url = parse_url("WS://Controller.Local:8080/agents/connect?id=b3&x=1#frag");
  REQUIRE(url);
  CHECK(url->scheme == "ws");
  CHECK(url->host == "controller.local");
  CHECK(url->port == 8080);
  CHECK(url->target == "/agents/connect?id=b3&x=1");
  CHECK(parse_url("http://h:1?q=1")->target == "/?q=1");
}

TEST_CASE("parse_url: IPv6 hosts", "[net][url]") {
  auto url = parse_url("http://[::1]:9000/x");
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 9000);
  CHECK(host_port(*url) == "[::1]:9000");
  CHECK(parse_url("http://[::1]/")->port == 80);
}

TEST_CASE("parse_url: rejects what Gantry does not speak", "[net][url]") {
  CHECK_FALSE(parse_url(""));
  CHECK_FALSE(parse_url("example.com/path"));
  CHECK_FALSE(parse_url("ftp://example.com"));
  CHECK_FALSE(parse_url("http://"));
  CHECK_FALSE(parse_url("http://:80/"));
  CHECK_FALSE(parse_url("http://host:0/"));
  CHECK_FALSE(parse_url("http://host:65536/"));
  CHECK_FALSE(parse_url("http://host:8x/"));
  CHECK_FALSE(parse_url("http://user:pw@host/"));
  CHECK_FALSE(parse_url("http://[::1/"));
  CHECK_FALSE(parse_url("http://[::1]x/"));
}

TEST_CASE("url_encode and url_decode round trip", "[net][url]") {
  CHECK(url_encode("a b/c?d=e&f~g_h.i-j") == "a%20b%2Fc%3Fd%3De%26f~g_h.i-j");
  CHECK(url_encode("\xC3\xA9") == "%C3%A9");
  CHECK(url_decode("a%20b%2fc") == "a b/c");
  CHECK(url_decode("a+b") == "a b");
  CHECK(url_decode("a+b", false) == "a+b");
  CHECK(url_decode("100%") == "100%");
  CHECK(url_decode("%zz%4") == "%zz%4");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(url_decode(url_encode(all)) == all);
}

TEST_CASE("parse_target splits and decodes path and query", "[net][url]") {
  auto t = parse_target("/runs/a%20b+c?name=x+y&empty=&flag&dup=1&dup=2&enc=%26#frag");
  CHECK(t.path == "/runs/a b+c");
  CHECK(t.query.at("name") == "x y");
  CHECK(t.query.at("empty").empty());
  CHECK(t.query.at("flag").empty());
  CHECK(t.query.at("dup") == "1");
  CHECK(t.query.at("enc") == "&");
  CHECK(t.query.size() == 5);
  CHECK(parse_target("/plain").query.empty());
}
