#pragma once
// Reads JUnit XML reports (the format of Surefire, pytest --junitxml, go-junit-
// report, ...) far enough to count tests: a <testsuites> or <testsuite> root,
// <testcase> elements at any depth below it, and in each case a <failure> or
// <error> (failed) or <skipped> (skipped) child. A case counts once however
// many failures it lists.
//
// A small tolerant scanner, not a validating XML parser: it skips the prolog,
// comments, CDATA, processing instructions and DOCTYPE, ignores unknown
// elements, and requires only that tags nest. Files over kMaxJunitBytes are
// refused. Not responsible for finding the files (ant_glob.hpp) or for
// deciding the stage result. Pure functions, safe from any thread.

#include <cstdint>
#include <string>
#include <string_view>

#include "gantry/protocol/messages.hpp"

namespace gantry::agent {

inline constexpr uint64_t kMaxJunitBytes = uint64_t{64} << 20;

// Adds the counts of `xml` to `counts`. On malformed input returns false with
// `error` naming the line ("line 3: <testcase> closed by </testsuite>") and
// leaves `counts` unchanged.
bool parse_junit(std::string_view xml, protocol::TestCounts& counts, std::string& error);

// Reads and parses one file; the error names the file's problem without the
// path (the caller adds it).
bool parse_junit_file(const std::string& path, protocol::TestCounts& counts, std::string& error);

}  // namespace gantry::agent
