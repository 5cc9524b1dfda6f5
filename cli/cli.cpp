#include "cli.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <ostream>

#include "approvals.hpp"
#include "gantry/common/version.hpp"
#include "remote.hpp"

namespace gantry::cli {
namespace {

constexpr const char* kUsage =
    "usage: gantry [--server URL] [--token T] [--ca FILE] [--insecure-skip-verify] COMMAND "
    "[ARGS]\n"
    "\n"
    "Pipeline files (no controller needed):\n"
    "  lint FILE... [--format text|json] [--strict]   validate Jenkinsfiles / .gantry.yml ('-' = "
    "stdin)\n"
    "  plan FILE [--json]                              print the expanded stage graph\n"
    "\n"
    "  run [FILE] [-p K=V]... [--until S] [--with-deploys]  run a pipeline here, on a copy of\n"
    "                                                  the working tree; logs in .gantry/runs/N\n"
    "                                                  (gantry run --help)\n"
    "\n"
    "Against a controller (--server URL or GANTRY_SERVER, --token T or GANTRY_TOKEN):\n"
    "  trigger --repo NAME_OR_URL [--ref REF] [--file F] [-p K=V]...   start a run; prints its id\n"
    "  runs [--status S] [--json]      recent runs\n"
    "  show RUN [--json]               a run and its stages\n"
    "  logs RUN [STAGE] [--attempt N] [-f]  stage logs (every attempt); -f follows the run\n"
    "  wait RUN                        follow a run; exit 0 ok, 1 failed, 3 unstable, 4 aborted\n"
    "  watch RUN                       the run live: stage tree and log tail (events stream)\n"
    "  cancel RUN | retry RUN [--from STAGE|--failed]  stop a run | start it again (prints the\n"
    "                                  new id); --from/--failed restart from a stage\n"
    "  artifacts RUN [PATH] [-o FILE]  a run's artifacts; with PATH, download one\n"
    "  tests RUN [--status failed]     a run's test cases (junit), failures with their text\n"
    "  agents [--json]                 connected agents\n"
    "  repos [--json]                  watched repositories: last fetch, error, heads\n"
    "  locks [--json]                  lockable resources: labels, holders, the queue\n"
    "  approvals [--all] [--json]      change requests waiting for a decision (GMUD, input)\n"
    "  approve ID [--comment C] [-p K=V]  approve GMUD-N (or INPUT-N, with its parameters)\n"
    "  reject ID --comment C           reject it, saying why; the stage fails\n"
    "  releases [--env E] [--json]     the release ledger: R-N per deploy, current per "
    "environment\n"
    "  promote R-N [--comment C]       a paused canary goes on to its next step\n"
    "  abort R-N [--comment C]         roll a deploy in progress back now (waits; --no-wait)\n"
    "  rollback R-N [--comment C]      run a finished release's rollback steps (waits; "
    "--no-wait)\n"
    "  audit [--json]                  the audit log: who did what, to what, when\n"
    "  audit verify                    check the audit log's hash chain (exit 1 names the first\n"
    "                                  broken entry)\n"
    "\n"
    "An https:// server's certificate is checked against the system's CAs, or --ca FILE\n"
    "(GANTRY_CA); --insecure-skip-verify turns the check off, with a warning.\n"
    "\n"
    "RUN is a run id (20) or JOB#N (shop/main#19). `gantry COMMAND --help` for each command.\n"
    "Exit status: 0 ok, 1 failure, 2 usage or connection error, 3 unstable, 4 aborted.\n";

}  // namespace

int run(const std::vector<std::string>& all_args, std::istream& in, std::ostream& out,
        std::ostream& err) {
  Remote remote;
  if (const char* s = std::getenv("GANTRY_SERVER")) remote.server = s;
  if (const char* t = std::getenv("GANTRY_TOKEN")) remote.token = t;
  if (const char* ca = std::getenv("GANTRY_CA")) remote.tls.ca_file = ca;
  std::vector<std::string> args;
  for (size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (args.empty() && (a == "--server" || a == "--token" || a == "--ca") &&
        i + 1 < all_args.size()) {
      (a == "--server"  ? remote.server
       : a == "--token" ? remote.token
                        : remote.tls.ca_file) = all_args[++i];
      continue;
    }
    if (args.empty() && a == "--insecure-skip-verify") {
      remote.tls.insecure_skip_verify = true;
      err << "gantry: warning: --insecure-skip-verify: the server's certificate is not checked; "
             "anyone on the path can read the token\n";
      continue;
    }
    args.push_back(a);
  }
  if (remote.token.empty()) {
    // A controller started here with defaults wrote its admin token here.
    std::ifstream tf("gantry-data/admin.token");
    std::getline(tf, remote.token);
  }
  while (!remote.server.empty() && remote.server.back() == '/') remote.server.pop_back();
  remote.color = ::isatty(STDOUT_FILENO) != 0;
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
    if (rest.empty()) {
      out << kUsage;
      return 0;
    }
    if (rest[0] == "run") return local_run_command({"--help"}, out, err);
    if (print_help(rest[0], out)) return 0;
    err << "gantry: help: no command '" << rest[0] << "'\n";
    return 2;
  }
  // `gantry CMD --help` (or -h) anywhere in its arguments: its usage, an example, its exit
  // status; nothing is run. `gantry run --help` is the runner's own.
  if (cmd != "run") {
    for (const std::string& a : rest) {
      if ((a == "--help" || a == "-h") && print_help(cmd, out)) return 0;
    }
  }
  if (cmd == "lint") return lint_command(remote, rest, in, out, err);
  if (cmd == "plan") return plan_command(remote, rest, in, out, err);
  if (cmd == "run") return local_run_command(rest, out, err);
  static const char* kRemoteCommands[] = {"trigger",   "runs",   "show",  "logs",   "watch",
                                          "wait",      "cancel", "retry", "agents", "repos",
                                          "artifacts", "tests",  "locks"};
  for (const char* c : kRemoteCommands) {
    if (cmd == c) return remote_command(remote, cmd, rest, out, err);
  }
  if (cmd == "audit") return audit_command(remote, rest, out, err);
  if (cmd == "approvals" || cmd == "approve" || cmd == "reject" || cmd == "releases" ||
      cmd == "rollback" || cmd == "promote" || cmd == "abort")
    return approvals_command(remote, cmd, rest, out, err);
  err << "gantry: unknown command '" << cmd << "'\n(gantry --help lists the commands)\n";
  return 2;
}

}  // namespace gantry::cli
