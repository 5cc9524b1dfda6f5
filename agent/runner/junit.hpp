#pragma once
// Reads JUnit XML reports (the format of Surefire, pytest --junitxml, go-junit-
// report, ...) far enough to count and list tests: a <testsuites> or
// <testsuite> root, <testcase> elements at any depth below it, and in each
// case a <failure> or <error> (failed) or <skipped> (skipped) child. A case
// counts once however many failures it lists; its first failure's message
// attribute and text (CDATA and entities decoded) are its failure text.
//
// A small tolerant scanner, not a validating XML parser: it skips the prolog,
// comments, CDATA, processing instructions and DOCTYPE, ignores unknown
// elements, and requires only that tags nest. Files over kMaxJunitBytes are
// refused. Not responsible for finding the files (ant_glob.hpp) or for
// deciding the stage result. Pure functions, safe from any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/protocol/messages.hpp"

namespace gantry::agent {

inline constexpr uint64_t kMaxJunitBytes = uint64_t{64} << 20;

// Appends `text` with XML's five entities and character references decoded (UTF-8; an unknown
// entity is kept as written), stopping at `limit` bytes of `out`. Also used by issues_xml.cpp.
void append_xml_decoded(std::string& out, std::string_view text, size_t limit);

// One <testcase>: where it is (its innermost <testsuite>'s name, classname,
// name), how it went (passed | failed | skipped), its time in seconds, and
// for a failed or skipped case the message and the text, each cut to a bound.
struct TestCase {
  std::string suite, class_name, name, status;
  double seconds = 0;
  std::string message, details;
};

inline constexpr size_t kMaxCaseMessage = 1024;
inline constexpr size_t kMaxCaseDetails = 8192;

// Adds the counts of `xml` to `counts`, and, when `cases` is given, appends
// each case to it. On malformed input returns false with
// `error` naming the line ("line 3: <testcase> closed by </testsuite>") and
// leaves `counts` unchanged.
bool parse_junit(std::string_view xml, protocol::TestCounts& counts, std::string& error,
                 std::vector<TestCase>* cases = nullptr);

// The cases of one `junit` step as the controller stores them (docs/cli.md,
// GET /api/v1/runs/{id}/tests): {"cases": [{suite, class, name, status,
// seconds, message, details}], "omitted": N}, failed cases first, then
// skipped, then passed, at most `max_cases` of them (the rest counted in
// "omitted"), their texts at most kMaxReportDetails together.
inline constexpr size_t kMaxReportCases = 5000;
inline constexpr size_t kMaxReportDetails = size_t{8} << 20;  // all the cases' texts together
std::string tests_report_json(std::vector<TestCase> cases, size_t max_cases = kMaxReportCases);

// Reads and parses one file; the error names the file's problem without the
// path (the caller adds it).
bool parse_junit_file(const std::string& path, protocol::TestCounts& counts, std::string& error,
                      std::vector<TestCase>* cases = nullptr);

}  // namespace gantry::agent
