#include "cli.hpp"

#include <ostream>

#include "gantry/common/version.hpp"

namespace gantry::cli {
namespace {

constexpr const char* kUsage =
    "usage: gantry [--server URL] [--token T] COMMAND [ARGS]\n"
    "\n"
    "Pipeline files (no controller needed):\n"
    "  lint FILE... [--format text|json] [--strict]   validate Jenkinsfiles / .gantry.yml ('-' = "
    "stdin)\n"
    "  plan FILE [--json]                              print the expanded stage graph\n"
    "\n"
    "Against a controller (coming with the controller): run, trigger, runs, show, logs, watch,\n"
    "wait, cancel, retry, approvals, approve, reject, releases, promote, abort, rollback,\n"
    "agents, audit verify\n";

}  // namespace

int run(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--version" || cmd == "version") {
    out << "gantry " << kVersion << "\n";
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    out << kUsage;
    return 0;
  }
  if (cmd == "lint") return lint_command(rest, in, out, err);
  if (cmd == "plan") return plan_command(rest, in, out, err);
  static const char* kControllerCommands[] = {
      "run",      "trigger", "runs",  "show",      "logs",    "watch",
      "wait",     "cancel",  "retry", "approvals", "approve", "reject",
      "releases", "promote", "abort", "rollback",  "agents",  "audit"};
  for (const char* c : kControllerCommands) {
    if (cmd == c) {
      err << "gantry: '" << cmd
          << "' needs the controller, which is not part of this build yet; lint and plan work "
             "today\n";
      return 2;
    }
  }
  err << "gantry: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}

}  // namespace gantry::cli
