#include "runner/junit.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace gantry::agent;
using gantry::protocol::TestCounts;

namespace {

TestCounts parse_ok(std::string_view xml) {
  TestCounts counts;
  std::string error;
  INFO(xml);
  REQUIRE(parse_junit(xml, counts, error));
  CHECK(error.empty());
  return counts;
}

std::string parse_error(std::string_view xml) {
  TestCounts counts;
  std::string error;
  INFO(xml);
  CHECK_FALSE(parse_junit(xml, counts, error));
  CHECK(counts.total == 0);
  return error;
}

}  // namespace

TEST_CASE("junit counts cases, failures, errors and skips", "[junit]") {
  TestCounts c = parse_ok(R"(<?xml version="1.0" encoding="UTF-8"?>
<!-- generated -->
<testsuites name="all">
  <testsuite name="unit" tests="5" failures="1">
    <properties><property name="a" value="b"/></properties>
    <testcase classname="A" name="ok" time="0.1"/>
    <testcase classname="A" name="fails"><failure message="1 &lt; 2">trace <![CDATA[ <not a tag> ]]></failure></testcase>
    <testcase classname="A" name="errors"><error type="Boom"/><failure/></testcase>
    <testcase classname="A" name="skip"><skipped/></testcase>
    <testcase classname="A" name="out"><system-out>&lt;testcase&gt;</system-out></testcase>
  </testsuite>
</testsuites>)");
  CHECK(c.total == 5);
  CHECK(c.failed == 2);
  CHECK(c.skipped == 1);
}

TEST_CASE("junit accepts a testsuite root and nested suites, and adds up", "[junit]") {
  TestCounts c;
  std::string error;
  REQUIRE(
      parse_junit("<testsuite><testcase name='a'/><testsuite><testcase name=\"b>c\">"
                  "<failure/></testcase></testsuite></testsuite>",
                  c, error));
  REQUIRE(parse_junit("<testsuites/>", c, error));
  REQUIRE(
      parse_junit("<!DOCTYPE x [<!ENTITY e 'v'>]><testsuite><testcase/></testsuite>", c, error));
  CHECK(c.total == 3);
  CHECK(c.failed == 1);
}

TEST_CASE("junit names the problem in malformed reports", "[junit]") {
  CHECK(parse_error("<testsuite>\n<testcase>\n</testsuite>") ==
        "line 3: <testcase> closed by </testsuite>");
  CHECK(parse_error("<testsuite><testcase/>") == "line 1: <testsuite> is never closed");
  CHECK(parse_error("{\"tests\": 3}") == "no XML elements: not a JUnit report");
  CHECK(parse_error("<html><body/></html>") ==
        "not a JUnit report: the root element is <html>, expected <testsuites> or <testsuite>");
  CHECK(parse_error("<testsuite><!-- never ends") == "line 1: unterminated comment");
  CHECK(parse_error("<testsuite name='x") == "line 1: unterminated tag <testsuite>");
  CHECK(parse_error("<testsuite/><testsuite/>") == "line 1: a second root element <testsuite>");
  CHECK(parse_error("</testsuite>") == "line 1: </testsuite> closes nothing");
}

TEST_CASE("junit refuses files over the size bound and missing files", "[junit]") {
  auto path =
      std::filesystem::temp_directory_path() / ("gantry-junit-" + std::to_string(::getpid()));
  TestCounts c;
  std::string error;
  CHECK_FALSE(parse_junit_file(path.string(), c, error));
  CHECK(error == "cannot open the file");
  {
    std::ofstream out(path);
    out << "<testsuite><testcase/></testsuite>";
  }
  REQUIRE(parse_junit_file(path.string(), c, error));
  CHECK(c.total == 1);
  std::filesystem::resize_file(path, kMaxJunitBytes + 1);
  CHECK_FALSE(parse_junit_file(path.string(), c, error));
  CHECK(error == "file is larger than 64 MiB");
  std::filesystem::remove(path);
}
