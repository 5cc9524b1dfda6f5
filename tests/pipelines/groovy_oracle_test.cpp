// Gantry's Groovy interpreter against the real Groovy 2.4.21 (the version
// Jenkins embeds). The committed corpus (tests/groovy/corpus/*.groovy) and
// ~300 programs tests/groovy/generate.py writes into a temp dir are run once
// through tests/groovy/oracle.groovy in one JVM, and each through
// run_program(); the outputs must agree byte for byte. A program listed in
// tests/groovy/known_differences.txt ("file<TAB>reason") may disagree.
// tests/groovy/expected.json is the oracle's output for the corpus, kept for
// reading; it must match what the installed Groovy prints.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gantry/pipelines/groovy.hpp"
#include "test_files.hpp"

namespace fs = std::filesystem;
using gantry::testing::read_file;
using gantry::testing::source_dir;

namespace {

struct Shell {
  int status = -1;
  std::string out;
};

// Runs a /bin/sh command line from the source dir; stdout and stderr both
// land in out, so a failure can show what went wrong.
Shell sh(const std::string& command) {
  std::string line = "cd '" + source_dir().string() + "' && (" + command + ") 2>&1";
  Shell r;
  FILE* p = ::popen(line.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int rc = ::pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::vector<fs::path> groovy_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".groovy") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// File name -> reason. Blank lines and lines starting with '#' are skipped.
std::map<std::string, std::string> known_differences() {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file(source_dir() / "tests/groovy/known_differences.txt"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto tab = line.find('\t');
    out[line.substr(0, tab)] = tab == std::string::npos ? "" : line.substr(tab + 1);
  }
  return out;
}

// The first line where two outputs differ, 1-based, to point at in reports.
size_t first_difference(const std::string& a, const std::string& b) {
  size_t line = 1;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i) {
    if (a[i] == '\n') ++line;
  }
  return line;
}

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() / ("gantry-groovy-oracle-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

TEST_CASE("groovy oracle: programs print what Groovy 2.4.21 prints") {
  Shell version = sh("groovy --version");
  if (version.status != 0) {
    FAIL("`groovy` is not on PATH (" << version.out
                                     << "): this test compares with the real Groovy 2.4.21; "
                                        "install it (Debian: apt-get install groovy)");
  }
  {
    INFO("the oracle must be the Groovy Jenkins embeds: " << version.out);
    REQUIRE(version.out.find("Groovy Version: 2.4.21") != std::string::npos);
  }

  TempDir tmp;
  fs::path gen_dir = tmp.path() / "generated";
  {
    Shell gen = sh("python3 tests/groovy/generate.py " + quote(gen_dir.string()));
    INFO("generate.py: " << gen.out);
    REQUIRE(gen.status == 0);
  }

  std::vector<fs::path> corpus = groovy_files(source_dir() / "tests/groovy/corpus");
  std::vector<fs::path> generated = groovy_files(gen_dir);
  REQUIRE(corpus.size() >= 300);
  REQUIRE(generated.size() >= 250);

  // One JVM for everything; the keys of its JSON are the paths given here.
  std::vector<fs::path> files = corpus;
  files.insert(files.end(), generated.begin(), generated.end());
  fs::path oracle_out = tmp.path() / "oracle.json";
  std::string command = "groovy tests/groovy/oracle.groovy " + quote(oracle_out.string());
  for (const auto& f : files) command += " " + quote(f.string());
  {
    Shell oracle = sh(command);
    INFO("oracle.groovy: " << oracle.out);
    REQUIRE(oracle.status == 0);
  }
  auto expected = nlohmann::json::parse(read_file(oracle_out));

  auto committed = nlohmann::json::parse(read_file(source_dir() / "tests/groovy/expected.json"));
  for (const auto& f : corpus) {
    std::string name = f.filename().string();
    INFO(name << ": tests/groovy/expected.json is stale; regenerate it with "
                 "(cd tests/groovy/corpus && groovy ../oracle.groovy ../expected.json *.groovy)");
    CHECK(committed.contains(name));
    if (committed.contains(name)) CHECK(committed[name] == expected[f.string()]);
  }

  auto allowed = known_differences();
  size_t agree = 0;
  size_t excused = 0;
  std::ostringstream report;
  for (const auto& f : files) {
    std::string name = f.filename().string();
    std::string want = expected.value(f.string(), std::string("<missing from oracle output>"));
    std::string got;
    try {
      got = gantry::pipelines::groovy::run_program(read_file(f), "Script1");
    } catch (const std::exception& e) {
      got = std::string("<C++ exception escaped run_program: ") + e.what() + ">\n";
    }
    if (got == want) {
      ++agree;
      if (allowed.count(name) != 0) {
        std::cout << "note: " << name << " agrees now; drop it from known_differences.txt\n";
      }
      continue;
    }
    if (allowed.count(name) != 0) {
      ++excused;
      continue;
    }
    report << "---- " << name << " (first difference at line " << first_difference(want, got)
           << ")\n-- expected (Groovy 2.4.21):\n"
           << want << "-- got (Gantry):\n"
           << got << "\n";
  }
  // Mismatches go to stdout whole: Catch wraps messages at 80 columns, which
  // would blur the exact output being compared.
  std::cout << report.str();
  size_t failing = files.size() - agree - excused;
  std::cout << "Groovy oracle: " << agree << " of " << files.size() << " programs agree ("
            << corpus.size() << " corpus + " << generated.size() << " generated; " << excused
            << " known differences, " << failing << " other differences)\n";
  INFO(agree << " of " << files.size() << " programs agree; " << failing
             << " disagree (each is printed above with what Groovy and Gantry printed; "
                "tests/groovy/known_differences.txt lists accepted ones)");
  CHECK(failing == 0);
}
