// Spool: masking (also across appends, checked against a whole-string
// reference on random splits), the truncation marker and dropped count,
// reads at offsets, resuming a file, and raw throughput without secrets.
#include "runner/spool.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

using gantry::agent::Spool;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const char* base = nullptr) {
    std::string tmpl = (base != nullptr ? std::string(base) : fs::temp_directory_path().string()) +
                       "/gantry-spool-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const char* name) const { return (path / name).string(); }
};

std::string contents(const Spool& s) {
  std::string out;
  s.read(0, static_cast<size_t>(s.size()), out);
  return out;
}

// Leftmost match wins; at one offset the longest secret wins.
std::string reference_mask(const std::string& text, std::vector<std::string> secrets) {
  std::erase_if(secrets, [](const std::string& s) { return s.size() < 3; });
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool hit = false;
    for (const auto& s : secrets) {
      if (text.compare(i, s.size(), s) == 0) {
        out += "****";
        i += s.size();
        hit = true;
        break;
      }
    }
    if (!hit) out += text[i++];
  }
  return out;
}

constexpr uint64_t kNoLimit = uint64_t{1} << 40;

}  // namespace

TEST_CASE("bytes pass through and read at any offset", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), kNoLimit, {});
  s.append("hello ");
  s.append("world");
  s.append("");
  CHECK(s.size() == 11);
  std::string out;
  CHECK(s.read(0, 100, out) == 11);
  CHECK(out == "hello world");
  CHECK(s.read(6, 3, out) == 3);
  CHECK(out == "wor");
  CHECK(s.read(10, 5, out) == 1);
  CHECK(out == "d");
  CHECK(s.read(11, 5, out) == 0);
  CHECK(out.empty());
  CHECK(s.read(500, 5, out) == 0);
  CHECK(s.dropped() == 0);
}

TEST_CASE("every occurrence of every secret is masked, short ones are ignored", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), kNoLimit, {"hunter2", "s3cr3t", "ab", ""});
  s.append("pw=hunter2 and hunter2hunter2, s3cr3t ab\n");
  s.flush();
  CHECK(contents(s) == "pw=**** and ********, **** ab\n");
}

TEST_CASE("a secret split across appends is still masked", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), kNoLimit, {"topsecret"});
  s.append("xx top");
  s.append("sec");
  CHECK(contents(s).find("top") == std::string::npos);  // held back, not leaked
  s.append("ret yy top");
  s.flush();
  CHECK(contents(s) == "xx **** yy top");
}

TEST_CASE("the longer of two secrets starting together wins, across appends too", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), kNoLimit, {"abc", "abcdef"});
  s.append("xabc");
  s.append("defx abcx");
  s.flush();
  CHECK(contents(s) == "x****x ****x");
}

TEST_CASE("masking on random splits matches masking the whole text", "[spool]") {
  const std::vector<std::string> secrets = {"abcab", "bca", "cccc", "ba"};
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string text;
    size_t len = rng() % 300;
    for (size_t i = 0; i < len; ++i) text += "abcx"[rng() % 4];
    TempDir dir;
    {
      Spool s(dir.file("log"), kNoLimit, secrets);
      for (size_t pos = 0; pos < text.size();) {
        size_t n = std::min<size_t>(rng() % 8, text.size() - pos);
        s.append(std::string_view(text).substr(pos, n));
        pos += n;
      }
      s.flush();
      REQUIRE(contents(s) == reference_mask(text, secrets));
    }
  }
}

TEST_CASE("the destructor writes out what masking held back", "[spool]") {
  TempDir dir;
  {
    Spool s(dir.file("log"), kNoLimit, {"password"});
    s.append("pass");
  }
  Spool again(dir.file("log"), kNoLimit, {});
  CHECK(contents(again) == "pass");
}

TEST_CASE("past the limit one marker is written and the rest counted", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), 10, {});
  s.append("01234");
  s.append("56789");
  CHECK(s.dropped() == 0);
  CHECK(contents(s) == "0123456789");  // exactly at the limit: nothing dropped yet
  s.append("ABCDEF");
  const std::string marker = "\n[gantry] log truncated: output past 10 bytes dropped\n";
  CHECK(contents(s) == "0123456789" + marker);
  CHECK(s.dropped() == 6);
  s.append("more");
  s.flush();
  CHECK(s.size() == 10 + marker.size());
  CHECK(s.dropped() == 10);
}

TEST_CASE("an append crossing the limit keeps its head", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), 8, {"secret"});
  s.append("abc secret xyz");
  s.flush();
  CHECK(contents(s) == "abc ****\n[gantry] log truncated: output past 8 bytes dropped\n");
  CHECK(s.dropped() == 4);  // " xyz", counted after masking
}

TEST_CASE("an existing spool is resumed, not truncated", "[spool]") {
  TempDir dir;
  Spool(dir.file("log"), kNoLimit, {}).append("abc");
  Spool s(dir.file("log"), kNoLimit, {});
  CHECK(s.size() == 3);
  s.append("def");
  s.sync();
  CHECK(contents(s) == "abcdef");
}

TEST_CASE("an unopenable path throws", "[spool]") {
  CHECK_THROWS_AS(Spool("/nonexistent/gantry/log", kNoLimit, {}), std::runtime_error);
}

TEST_CASE("readers see a consistent prefix while the writer appends", "[spool]") {
  TempDir dir;
  Spool s(dir.file("log"), kNoLimit, {"zzzz"});
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += "line " + std::to_string(i) + "\n";
  std::thread writer([&] {
    for (size_t pos = 0; pos < expected.size(); pos += 37) {
      s.append(std::string_view(expected).substr(pos, 37));
    }
    s.flush();
  });
  std::string shipped, chunk;
  while (shipped.size() < expected.size()) {
    if (s.read(shipped.size(), 100, chunk) == 0) std::this_thread::yield();
    shipped += chunk;
  }
  writer.join();
  CHECK(shipped == expected);
}

// Without secrets to mask, appends take the fast path (no scanning window). Its speed is
// not asserted here (a loaded CI machine measured 160 MB/s against 1 GB/s on a quiet one):
// this checks that the fast path keeps every byte in order.
TEST_CASE("large appends without secrets are kept whole and in order", "[spool]") {
  const char* shm = fs::is_directory("/dev/shm") ? "/dev/shm" : nullptr;
  TempDir dir(shm);
  Spool s(dir.file("log"), kNoLimit, {});
  std::string block(64 * 1024, 'x');
  const size_t total = size_t{64} << 20;
  for (size_t n = 0; n < total; n += block.size()) {
    block.replace(0, 16, std::to_string(n / block.size()) + std::string(16, '-'), 0, 16);
    s.append(block);
  }
  s.flush();
  CHECK(s.size() == total);
  std::string chunk;
  for (size_t i = 0; i < total / block.size(); i += 97) {
    REQUIRE(s.read(i * block.size(), 16, chunk) == 16);
    CHECK(chunk == (std::to_string(i) + std::string(16, '-')).substr(0, 16));
  }
}
