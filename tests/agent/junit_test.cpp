#include "runner/junit.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

TEST_CASE("junit lists each case with its suite, time and failure text", "[junit]") {
  TestCounts c;
  std::string error;
  std::vector<TestCase> cases;
  REQUIRE(parse_junit(R"(<testsuites>
  <testsuite name="unit">
    <testcase classname="shop.Cart" name="adds" time="0.25"/>
    <testcase classname="shop.Cart" name="totals" time="1.5">
      <failure message="expected 3 but was 2" type="AssertionError"><![CDATA[AssertionError: expected 3 but was 2
	at shop.CartTest.totals(CartTest.java:42)]]></failure>
      <failure message="second"/>
    </testcase>
    <testcase classname="shop.Cart" name="errs"><error type="java.lang.NullPointerException">npe &amp; more &#233;</error></testcase>
    <testcase classname="shop.Cart" name="later"><skipped message="not yet"/></testcase>
  </testsuite>
  <testsuite name="other"><testcase name="lone"/></testsuite>
</testsuites>)",
                      c, error, &cases));
  REQUIRE(cases.size() == 5);
  CHECK(cases[0].suite == "unit");
  CHECK(cases[0].class_name == "shop.Cart");
  CHECK(cases[0].status == "passed");
  CHECK(cases[0].seconds == Approx(0.25));
  CHECK(cases[1].status == "failed");
  CHECK(cases[1].message == "expected 3 but was 2");
  CHECK(cases[1].details.find("CartTest.java:42") != std::string::npos);
  CHECK(cases[2].status == "failed");
  CHECK(cases[2].message == "java.lang.NullPointerException");  // no message: its type
  CHECK(cases[2].details == "npe & more \xC3\xA9");
  CHECK(cases[3].status == "skipped");
  CHECK(cases[3].message == "not yet");
  CHECK(cases[4].suite == "other");
  CHECK(cases[4].class_name.empty());

  // The report: failed first, then skipped, then passed; bounded.
  nlohmann::json report = nlohmann::json::parse(tests_report_json(cases, 3));
  REQUIRE(report["cases"].size() == 3);
  CHECK(report["cases"][0]["name"] == "totals");
  CHECK(report["cases"][1]["name"] == "errs");
  CHECK(report["cases"][2]["status"] == "skipped");
  CHECK(report["omitted"] == 2);
  CHECK(report["cases"][0]["details"].get<std::string>().starts_with("AssertionError"));
}

TEST_CASE("junit cuts a case's text and keeps nothing of a report that fails", "[junit]") {
  TestCounts c;
  std::string error;
  std::vector<TestCase> cases;
  std::string big(kMaxCaseDetails * 2, 'x');
  REQUIRE(parse_junit(
      "<testsuite><testcase name='a'><failure>" + big + "</failure></testcase></testsuite>", c,
      error, &cases));
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].details.size() == kMaxCaseDetails);
  cases.clear();
  CHECK_FALSE(
      parse_junit("<testsuite><testcase name='a'/><testcase></testsuite>", c, error, &cases));
  CHECK(cases.empty());
}
