// The audit log with the real daemons (SPEC §7, §9): refusals and cancels
// reach the table, `gantry audit verify` holds, and after a byte of a stored
// entry is changed with the sqlite3 command-line tool while the controller is
// down, it names that entry; `gantry audit` still lists everything.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;
using namespace std::chrono_literals;

namespace {

const char* kSlow = R"(pipeline {
  agent any
  stages {
    stage('Slow') { steps { sh 'sleep 30' } }
  }
}
)";

}  // namespace

TEST_CASE("audit: refusals and cancels are chained and gantry audit verify names a changed entry",
          "[pg]") {
  const std::string config = R"(users:
  - {name: ada, role: admin, token: admin-token}
  - {name: dev, role: developer, token: dev-token}
cancel_grace: 1s
)";
  Cluster c(config);
  c.start_controller();
  c.admin_token = "admin-token";  // the generated one is not registered when users are named
  c.start_agent({"a1", {}, 1});
  c.wait_agents(1);
  int64_t id = c.trigger(c.make_repo({{"Jenkinsfile", kSlow}}));
  c.wait_stage(id, "Slow", "running");
  const std::string run_path = "/api/v1/runs/" + std::to_string(id);
  CHECK(c.http("POST", run_path + "/cancel", "", "dev-token").status == 403);  // not dev's run
  CHECK(c.http("POST", run_path + "/retry", "", "dev-token").status == 403);   // not dev's run
  CHECK(c.http("POST", run_path + "/cancel", "", "admin-token").status == 200);
  CHECK(c.wait_run(id, 20s)["status"] == "aborted");

  // Entry 1 is the controller's start; then one per decision, oldest first.
  json list = c.get_json("/api/v1/audit");
  INFO(list.dump(2));
  REQUIRE(list["entries"].size() == 4);
  const json& entries = list["entries"];
  CHECK(entries[0]["action"] == "config.load");
  CHECK(entries[0]["actor"] == "controller");
  CHECK(entries[0]["subject"] == c.dir() + "/controller.yml");
  CHECK(entries[0]["details"]["sha256"] == sha256_file(c.dir() + "/controller.yml"));
  CHECK(entries[1]["action"] == "permission.denied");
  CHECK(entries[1]["actor"] == "dev");
  CHECK(entries[1]["subject"] == run_path + "/cancel");
  CHECK(entries[1]["details"]["reason"] == "may not cancel run " + std::to_string(id));
  CHECK(entries[1]["details"]["role"] == "developer");
  CHECK(entries[2]["action"] == "permission.denied");
  CHECK(entries[2]["details"]["reason"] == "may not retry run " + std::to_string(id));
  CHECK(entries[3]["action"] == "run.cancel");
  CHECK(entries[3]["actor"] == "ada");
  CHECK(entries[3]["subject"] == "run " + std::to_string(id));
  CHECK(entries[0]["prev_hash"] == std::string(64, '0'));
  for (size_t i = 1; i < entries.size(); ++i)
    CHECK(entries[i]["prev_hash"] == entries[i - 1]["hash"]);
  // Reading it needs the read permission only; a page starts after an id.
  HttpResult page = c.http("GET", "/api/v1/audit?after=2&limit=1", "", "dev-token");
  CHECK(page.status == 200);
  CHECK(json::parse(page.body)["entries"][0]["id"] == 3);
  CHECK(c.http("GET", "/api/v1/audit?limit=x").status == 400);
  CHECK(c.http("POST", "/api/v1/audit/verify").status == 405);
  // The daemon log keeps its line per decision.
  std::string log = read_file(c.dir() + "/controller.log");
  CHECK(log.find("comp=audit event=permission.denied user=dev") != std::string::npos);
  CHECK(log.find("comp=audit event=run.cancel user=ada") != std::string::npos);

  CliResult verified = c.cli({"audit", "verify"});
  CHECK(verified.exit_code == 0);
  CHECK(verified.out == "audit log verified: 4 entries\n");
  CliResult table = c.cli({"audit"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("permission.denied") != std::string::npos);
  CHECK(table.out.find("reason=\"may not retry run " + std::to_string(id) + "\"") !=
        std::string::npos);

  // One byte of entry 2's details, changed behind the controller's back.
  if (store_on_postgresql()) {
    WARN("SQLite only from here: the rest edits gantry.db behind the controller's back");
    return;
  }
  c.stop_controller();
  std::string db = c.dir() + "/data/gantry.db";
  CHECK(sqlite3_cli(db,
                    "UPDATE audit SET details = replace(details, 'may not', 'may nut') "
                    "WHERE id = 2;\nSELECT changes();\n",
                    c.dir()) == "1\n");
  c.start_controller();
  c.admin_token = "admin-token";

  CliResult broken = c.cli({"audit", "verify"});
  CHECK(broken.exit_code == 1);
  CHECK(broken.out == "audit log broken at entry 2: hash does not match its contents\n");
  CliResult broken_json = c.cli({"audit", "verify", "--json"});
  CHECK(broken_json.exit_code == 1);
  json v = json::parse(broken_json.out, nullptr, false);
  CHECK(v == json{{"ok", false},
                  {"entries", 5},
                  {"first_broken", 2},
                  {"reason", "hash does not match its contents"}});
  // Still listed, as stored, with the restart's entry after it.
  CliResult listed = c.cli({"audit", "--json"});
  CHECK(listed.exit_code == 0);
  json all = json::parse(listed.out, nullptr, false);
  REQUIRE(all.is_object());
  REQUIRE(all["entries"].size() == 5);
  CHECK(all["entries"][1]["details"]["reason"] == "may nut cancel run " + std::to_string(id));
  CHECK(all["entries"][4]["action"] == "config.load");
}
