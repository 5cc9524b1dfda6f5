#pragma once
// The `gantry` command line: argument handling and the commands that work
// without a controller (lint, plan). Output goes to the given streams so tests
// can capture it. Exit codes: 0 ok, 1 errors found / run failed, 2 usage or
// I/O error.

#include <iosfwd>
#include <string>
#include <vector>

namespace gantry::cli {

int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err);

struct Remote;
int lint_command(const Remote& remote, const std::vector<std::string>& args, std::istream& in,
                 std::ostream& out, std::ostream& err);
int plan_command(const Remote& remote, const std::vector<std::string>& args, std::istream& in,
                 std::ostream& out, std::ostream& err);

}  // namespace gantry::cli
