// Reports a pipeline publishes (docs/reports.md), through real daemons: publishHTML's files
// served under a strict Content-Security-Policy, allowMissing, and recordIssues' summary with
// a quality gate.
#include <catch2/catch.hpp>

#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;

TEST_CASE("publishHTML uploads a report the API serves with a strict CSP") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Report') {
      steps {
        sh 'mkdir -p coverage/css && ln -s /etc/passwd coverage/passwd.html'
        writeFile file: 'coverage/index.html', text: '<html><link rel="stylesheet" href="css/site.css"><script>alert(1)</script><p>Coverage 93%</p></html>'
        writeFile file: 'coverage/css/site.css', text: 'p { color: green }'
        publishHTML([allowMissing: false, alwaysLinkToLastBuild: true, keepAll: true,
                     reportDir: 'coverage', reportFiles: 'index.html', reportName: 'Coverage',
                     reportTitles: ''])
        script {
          publishHTML(target: [reportDir: 'coverage', reportFiles: 'index.html', reportName: 'Again'])
        }
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id);
  INFO(run.dump() << c.stage_log(id, "Report"));
  REQUIRE(run["status"] == "succeeded");
  REQUIRE(run["reports"].size() == 2);
  json report = run["reports"][1]["name"] == "Coverage" ? run["reports"][1] : run["reports"][0];
  CHECK(report["name"] == "Coverage");
  CHECK(report["stage"] == "Report");
  CHECK(report["count"] == 2);  // the link out of the workspace is not uploaded
  const std::string base = "/api/v1/runs/" + std::to_string(id) + "/reports/Coverage/";
  CHECK(report["url"] == base + "index.html");

  HttpResult page = c.http("GET", base + "index.html");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("Coverage 93%") != std::string::npos);
  CHECK(page.headers["content-type"] == "text/html; charset=utf-8");
  const std::string csp = page.headers["content-security-policy"];
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("sandbox") != std::string::npos);
  CHECK(csp.find("allow-scripts") == std::string::npos);
  CHECK(csp.find("script-src") == std::string::npos);
  CHECK(page.headers["x-content-type-options"] == "nosniff");

  HttpResult css = c.http("GET", base + "css/site.css");
  CHECK(css.status == 200);
  CHECK(css.body == "p { color: green }");
  CHECK(css.headers["content-type"] == "text/css; charset=utf-8");
  CHECK(c.http("GET", base + "passwd.html").status == 404);
  CHECK(c.http("GET", base + "../Again/index.html").status == 404);
  CHECK(c.http("GET", base + "index.html", "", "").status == 401);

  // A link the page opens in a browser: no API token, the signed path instead; the report's
  // relative links (css/site.css) resolve under the same path.
  HttpResult minted = c.http("POST", base.substr(0, base.size() - 1) + "/link", "");
  REQUIRE(minted.status == 200);
  const std::string link = json::parse(minted.body)["url"].get<std::string>();
  REQUIRE(link.starts_with("/reports/"));
  HttpResult opened = c.http("GET", link + "index.html", "", "");
  CHECK(opened.status == 200);
  CHECK(opened.body.find("Coverage 93%") != std::string::npos);
  CHECK(opened.headers["content-security-policy"] == csp);
  CHECK(c.http("GET", link + "css/site.css", "", "").body == "p { color: green }");
  CHECK(c.http("GET", link + "passwd.html", "", "").status == 404);
  // Another report, another run, a changed signature: nothing.
  std::string forged = link;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'a' ? 'b' : 'a';
  CHECK(c.http("GET", forged + "index.html", "", "").status == 404);
  CHECK(c.http("GET", "/reports/" + std::to_string(id) + ".416761696e.99999999999.00/index.html",
               "", "")
            .status == 404);
  CHECK(c.http("POST", link + "index.html", "", "").status == 405);
}

TEST_CASE("publishHTML on a missing directory fails the stage unless allowMissing") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Tolerant') {
      steps {
        publishHTML(target: [allowMissing: true, reportDir: 'nowhere', reportFiles: 'index.html', reportName: 'Maybe'])
      }
    }
    stage('Strict') {
      steps {
        publishHTML([allowMissing: false, reportDir: 'nowhere', reportFiles: 'index.html', reportName: 'Must'])
      }
    }
  }
}
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id);
  INFO(run.dump() << c.stage_log(id, "Strict"));
  CHECK(run["status"] == "failed");
  auto s = stages_by_id(run);
  CHECK(s["Tolerant"]["status"] == "succeeded");
  CHECK(s["Strict"]["status"] == "failed");
  CHECK(c.stage_log(id, "Strict").find("does not exist") != std::string::npos);
  CHECK(!run.contains("reports"));
}

TEST_CASE("recordIssues counts checkstyle issues and its quality gate makes the stage unstable") {
  Cluster c;
  c.start_controller();
  c.start_agent({});
  c.wait_agents(1);
  std::string repo = c.make_repo({{"Jenkinsfile", R"(pipeline {
  agent any
  stages {
    stage('Lint') {
      steps {
        recordIssues(enabledForFailure: true, tools: [checkStyle(pattern: '**/checkstyle.xml'), java()],
                     qualityGates: [[threshold: 2, type: 'TOTAL', unstable: true]])
      }
    }
    stage('After') {
      steps {
        script { recordIssues tool: pmdParser(pattern: 'build/pmd.xml') }
      }
    }
  }
}
)"},
                                  {"build/pmd.xml", R"(<pmd><file name="src/Main.java">
<violation beginline="4" rule="UnusedLocalVariable" ruleset="Best Practices" priority="3">Avoid unused local variables.</violation>
</file></pmd>
)"},
                                  {"build/checkstyle.xml", R"(<?xml version="1.0" encoding="UTF-8"?>
<checkstyle version="10.0">
  <file name="src/Main.java">
    <error line="3" column="5" severity="error" message="Missing a Javadoc comment." source="com.puppycrawl.tools.checkstyle.checks.javadoc.MissingJavadocMethodCheck"/>
    <error line="7" severity="warning" message="Line is longer than 100 characters &amp; more." source="com.puppycrawl.tools.checkstyle.checks.sizes.LineLengthCheck"/>
  </file>
  <file name="src/Util.java">
    <error line="1" severity="info" message="Unused import." source="x.UnusedImportsCheck"/>
  </file>
</checkstyle>
)"}});
  int64_t id = c.trigger(repo);
  json run = c.wait_run(id);
  const std::string log = c.stage_log(id, "Lint");
  INFO(run.dump() << log);
  CHECK(run["status"] == "unstable");
  auto s = stages_by_id(run);
  CHECK(s["Lint"]["status"] == "unstable");
  CHECK(s["After"]["status"] == "succeeded");
  CHECK(log.find("java() is not supported") != std::string::npos);
  CHECK(log.find("checkStyle()") != std::string::npos);
  REQUIRE(run.contains("issues"));
  CHECK(run["issues"]["total"] == 4);
  CHECK(run["issues"]["by_severity"]["error"] == 1);
  CHECK(run["issues"]["by_severity"]["normal"] == 2);
  CHECK(run["issues"]["by_severity"]["low"] == 1);
  CHECK(run["issues"]["by_tool"]["checkstyle"] == 3);
  CHECK(run["issues"]["by_tool"]["pmd"] == 1);
  CHECK(run["issues"]["result"] == "UNSTABLE");
  REQUIRE(run["issues"]["summaries"].size() == 2);
  CHECK(run["issues"]["summaries"][0]["total"] == 3);
  CHECK(run["issues"]["summaries"][0]["name"] == "checkStyle");
  CHECK(run["issues"]["summaries"][0]["result"] == "UNSTABLE");
  CHECK(run["issues"]["summaries"][1]["stage"] == "After");
  CHECK(run["issues"]["summaries"][1]["result"] == "SUCCESS");
  CliResult shown = c.cli({"show", std::to_string(id), "--json"});
  CHECK(json::parse(shown.out)["issues"]["total"] == 4);

  json list = c.get_json(run["issues"]["url"].get<std::string>());
  REQUIRE(list["summaries"].size() == 2);
  const json& first = list["summaries"][0]["issues"][0];
  CHECK(first["file"] == "src/Main.java");
  CHECK(first["line"] == 3);
  CHECK(first["type"] == "MissingJavadocMethodCheck");
  CHECK(list["summaries"][0]["issues"][1]["message"] ==
        "Line is longer than 100 characters & more.");
  CHECK(list["summaries"][0]["gates"][0]["actual"] == 3);
}

TEST_CASE("gantry lint knows publishHTML recordIssues and the analysis tools") {
  Cluster c;
  std::string file = c.dir() + "/Jenkinsfile";
  std::ofstream(file) << R"(pipeline {
  agent any
  stages {
    stage('Reports') {
      steps {
        publishHTML([allowMissing: false, alwaysLinkToLastBuild: true, keepAll: true,
                     reportDir: 'coverage', reportFiles: 'index.html', reportName: 'Coverage',
                     reportTitles: ''])
        recordIssues tool: spotBugs(pattern: '**/spotbugsXml.xml')
        recordIssues(tools: [java(), pmdParser(pattern: '**/pmd.xml')], enabledForFailure: true,
                     qualityGates: [[threshold: 1, type: 'TOTAL', unstable: true]])
        script {
          recordIssues(tools: [checkStyle(pattern: '**/checkstyle.xml'), esLint(), sarif()])
          publishHTML(target: [reportDir: 'x', reportFiles: 'index.html', reportName: 'X'])
        }
      }
    }
  }
}
)";
  CliResult r = c.cli({"lint", "--strict", file});
  INFO(r.out);
  CHECK(r.exit_code == 0);
}
