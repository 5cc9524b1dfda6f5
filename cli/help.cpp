// `gantry COMMAND --help`: each command's usage, what it does, an example and its exit status;
// and the one shape of a usage error (docs/cli.md). `gantry run --help` is local_run.cpp's.
#include <ostream>
#include <string>

#include "remote.hpp"

namespace gantry::cli {

namespace {

struct CommandHelp {
  const char* name;
  const char* usage;
  const char* about;
  const char* example;
  const char* exit_status;
};

constexpr const char* kExitPlain = "0 done, 2 usage error or the controller refused";
constexpr const char* kExitRun =
    "the run's result: 0 succeeded, 1 failed, 3 unstable, 4 aborted (2: usage or connection error)";

// RUN everywhere: the run id `gantry trigger` prints (20 or #20), or JOB#N as the page and
// BUILD_NUMBER say (shop/main#19).
constexpr CommandHelp kCommands[] = {
    {"lint", "gantry lint FILE... [--format text|json] [--strict] [--agents]",
     "Checks Jenkinsfiles and .gantry.yml files ('-' reads stdin) without a controller:\n"
     "errors and warnings with FILE:LINE:COL and a caret. --strict counts warnings as errors.\n"
     "--agents also asks the controller (--server) for its connected agents and warns at each\n"
     "stage none of them can take (a docker agent needs one with a container engine).",
     "gantry lint Jenkinsfile", "0 clean or warnings only, 1 errors, 2 usage error"},
    {"plan", "gantry plan FILE [--json] [--env NAME [--config CONTROLLER.yml]] [--agents]",
     "Prints the expanded stage graph (matrix cells, parallel groups, agents, gates);\n"
     "--env NAME says what a deploy there would wait for, and which secrets each stage gets\n"
     "(from the controller, or from --config); --agents, which connected agents qualify.",
     "gantry plan Jenkinsfile --env production", "0 valid, 1 invalid, 2 usage error"},
    {"trigger",
     "gantry trigger --repo NAME_OR_URL [--ref REF] [--file F] [-p NAME=VALUE]... [--json]",
     "Starts a run of a configured repository (or a URL under allowed_run_urls) at REF\n"
     "(default: its default branch) and prints the new run's id. An unknown repository or\n"
     "ref is an error, not a run.",
     "gantry trigger --repo shop --ref main -p TARGET=eu", kExitPlain},
    {"runs", "gantry runs [--status S] [--repo R] [--branch B] [--user U] [--limit N] [--json]",
     "Recent runs, newest first: id, JOB#N, branch, status, age, duration, trigger.",
     "gantry runs --repo shop --status failed", kExitPlain},
    {"show", "gantry show RUN [--json]",
     "A run and its stages: status, agent, duration, and why a stage waits or failed.",
     "gantry show shop/main#19", kExitPlain},
    {"logs", "gantry logs RUN [STAGE] [--attempt N] [-f]",
     "Stage logs, every attempt (or --attempt N); -f follows the run until it ends.",
     "gantry logs 20 Test", "0 (with -f: the run's result, as wait), 2 usage error"},
    {"wait", "gantry wait RUN", "Follows a run, printing stage transitions, until it ends.",
     "gantry wait 20", kExitRun},
    {"watch", "gantry watch RUN",
     "The run live from the events stream: the stage tree and the log tail.", "gantry watch 20",
     kExitRun},
    {"cancel", "gantry cancel RUN [--json]",
     "Stops a run (your own, or any with the cancel permission).", "gantry cancel 20", kExitPlain},
    {"retry", "gantry retry RUN [--from STAGE | --failed] [--json]",
     "Starts a finished run again with the same commit and parameters; prints the new id.\n"
     "--from STAGE restarts from that top-level stage (Jenkins' Restart from Stage): the\n"
     "stages before it are skipped and their stashes kept; --failed restarts from the first\n"
     "stage that did not succeed. Your own runs, or anyone's with the operator role.",
     "gantry retry shop/main#19 --failed", kExitPlain},
    {"artifacts", "gantry artifacts RUN [PATH] [-o FILE] [--json]",
     "The files a run archived (archiveArtifacts): their paths, sizes and stages; with PATH,\n"
     "downloads that one to FILE (default: its name here; '-' writes it to stdout).",
     "gantry artifacts shop/main#19 dist/app.tar.gz", kExitPlain},
    {"tests", "gantry tests RUN [--status failed|skipped|passed] [--json]",
     "The test cases a run recorded with the junit step: failed first, each with its stage,\n"
     "class, name and time, and a failure's message and text. `gantry show` lists the first\n"
     "failures too.",
     "gantry tests shop/main#19 --status failed", kExitPlain},
    {"agents", "gantry agents [--json]", "Agents: connected or not, labels, executors, jobs.",
     "gantry agents", kExitPlain},
    {"locks", "gantry locks [--json]",
     "Lockable resources (lock steps and options): each with its labels and the run holding\n"
     "it, then the requests waiting, in the order they will be served.",
     "gantry locks", kExitPlain},
    {"repos", "gantry repos [--json]",
     "Watched repositories: last fetch, its error, the heads seen.", "gantry repos", kExitPlain},
    {"approvals", "gantry approvals [--all] [--json]",
     "Change requests waiting for a decision (GMUD-N, INPUT-N); --all includes decided ones.",
     "gantry approvals", kExitPlain},
    {"approve", "gantry approve ID [--comment C] [-p NAME=VALUE]...",
     "Approves GMUD-N, or INPUT-N with its parameters.", "gantry approve GMUD-3 --comment ok",
     "0 recorded, 1 refused (not eligible, decided, closed), 2 usage error"},
    {"reject", "gantry reject ID --comment WHY",
     "Rejects a change request, saying why; its stage fails.",
     "gantry reject GMUD-3 --comment 'not in the freeze'", "0 recorded, 1 refused, 2 usage error"},
    {"releases", "gantry releases [--env E] [--json]",
     "The release ledger: R-N per deploy, the current one per environment.",
     "gantry releases --env production", kExitPlain},
    {"promote", "gantry promote R-N [--comment C]",
     "A canary paused by pause() goes on to its next step.", "gantry promote R-4",
     "0 done, 1 refused, 2 usage error"},
    {"abort", "gantry abort R-N [--comment C] [--no-wait]",
     "Rolls a deploy in progress back now (and waits for the rollback).", "gantry abort R-4",
     "0 rolled back, 1 refused or the rollback failed, 2 usage error"},
    {"rollback", "gantry rollback R-N [--comment C] [--no-wait]",
     "Runs a finished release's rollback steps at its commit (and waits).",
     "gantry rollback R-4 --comment 'error rate'",
     "0 rolled back, 1 refused or the rollback failed, 2 usage error"},
    {"audit", "gantry audit [verify] [--json]",
     "The audit log (who did what, to what, when); `verify` checks its hash chain.",
     "gantry audit verify", "0 ok, 1 the chain is broken (verify), 2 usage error"},
};

}  // namespace

bool print_help(const std::string& cmd, std::ostream& out) {
  for (const CommandHelp& c : kCommands) {
    if (cmd != c.name) continue;
    out << "usage: " << c.usage << "\n\n" << c.about << "\n\nexample:\n  " << c.example << "\n";
    if (std::string(c.usage).find("RUN") != std::string::npos)
      out << "\nRUN is the run id `gantry trigger` prints (20, or #20), or JOB#N as lists and\n"
             "BUILD_NUMBER show it (shop/main#19).\n";
    out << "\nThe server is --server URL or GANTRY_SERVER, the token --token T or GANTRY_TOKEN.\n"
        << "exit status: " << c.exit_status << "\n";
    return true;
  }
  return false;
}

int usage_error(std::ostream& err, const std::string& cmd, const std::string& message) {
  err << "gantry: " << cmd << ": " << message << "\n(gantry " << cmd
      << " --help shows its usage)\n";
  return 2;
}

}  // namespace gantry::cli
