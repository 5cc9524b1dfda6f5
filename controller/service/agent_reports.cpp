// The gateway's report uploads (agent_gateway.hpp, docs/reports.md): publishHTML's files and
// description, recordIssues' summaries. Bounded per report and per run; the agent bounds them
// too, but an agent is not trusted to.
#include <algorithm>
#include <filesystem>

#include "gantry/common/log.hpp"
#include "service/agent_gateway.hpp"
#include "service/api_json.hpp"
#include "service/run_service.hpp"

namespace gantry::controller {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxReportIndexBytes = 64 * 1024;

// A report's name is one URL path segment and one directory.
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](unsigned char c) {
    return c < 0x20 || c == 0x7f || c == '/' || c == '\\';
  });
}

uint64_t body_size(const net::Request& req, std::error_code& ec) {
  return req.body_file.empty() ? req.body.size() : fs::file_size(req.body_file, ec);
}

net::Response stored() {
  net::Response r;
  r.status = 201;
  r.body = R"({"stored":true})";
  return r;
}

}  // namespace

net::Response AgentGateway::store_report(const net::Request& req, const Job& job,
                                         const StageRecord& rec, const Principal& who) {
  if (req.method != "PUT") return error(405, "method_not_allowed", "use PUT for a report");
  const std::string name = query(req, "name");
  if (!valid_name(name)) return error(400, "bad_request", "bad report name '" + name + "'");
  std::error_code ec;
  const uint64_t size = body_size(req, ec);
  if (ec) return error(400, "bad_request", "unreadable body");
  const fs::path root = fs::path(store_.artifact_dir(job.run_id)) / "reports";
  ArtifactRecord a;
  a.run_id = job.run_id;
  a.stage_id = rec.stage_id;
  a.created_at = engine_.now();
  if (query(req, "index") == "1") {
    if (size > kMaxReportIndexBytes)
      return error(413, "too_large", "a report's description is at most 64 KiB");
    a.kind = "report";
    a.name = name;
    a.file = (root / "index" / (std::to_string(std::hash<std::string>{}(name)) + ".json")).string();
  } else {
    const std::string path = query(req, "path");
    if (!safe_relative(path)) return error(400, "bad_request", "bad report path '" + path + "'");
    a.kind = "report_file";
    a.name = name + "/" + path;
    uint64_t files = 0, bytes = size;
    bool known = false;
    for (const ArtifactRecord& f : store_.runs().artifacts(job.run_id)) {
      if (f.kind != "report_file" || !f.name.starts_with(name + "/")) continue;
      known = known || f.name == a.name;
      if (f.name == a.name) continue;
      ++files;
      bytes += f.size;
    }
    if (!known && files >= kMaxReportFiles)
      return error(409, "too_many",
                   "a report keeps at most " + std::to_string(kMaxReportFiles) + " files");
    if (bytes > kMaxReportBytes)
      return error(413, "too_large",
                   "a report is at most " + std::to_string(kMaxReportBytes >> 20) + " MiB");
    a.file = (root / "files" / name / path).string();
  }
  ec = keep_body(req, a.file);
  if (ec) return error(500, "io_error", "could not store the report: " + ec.message());
  a.size = size;
  if (Status st = store_.runs().add_artifact(a); !st) return error_response(st.error());
  if (a.kind == "report")
    log::info("controller", "report.stored",
              {{"run", std::to_string(job.run_id)}, {"name", name}, {"agent_token", who.name}});
  return stored();
}

net::Response AgentGateway::store_issues(const net::Request& req, const Job& job,
                                         const StageRecord& rec, const Principal& who) {
  if (req.method != "PUT") return error(405, "method_not_allowed", "use PUT for issues");
  const std::string id = query(req, "name");
  if (!valid_name(id)) return error(400, "bad_request", "bad issues id '" + id + "'");
  std::error_code ec;
  const uint64_t size = body_size(req, ec);
  if (ec || size > kMaxIssuesBytes)
    return error(413, "too_large",
                 "an issues summary is at most " + std::to_string(kMaxIssuesBytes >> 20) + " MiB");
  // One summary per stage and id: a stage's next attempt replaces its last.
  const std::string name = rec.stage_id + "#" + id;
  size_t n = 0;
  std::string file;
  for (const ArtifactRecord& a : store_.runs().artifacts(job.run_id)) {
    if (a.kind != "issues") continue;
    ++n;
    if (a.name == name) file = a.file;
  }
  if (file.empty()) {
    if (n >= kMaxIssueSummaries)
      return error(
          409, "too_many",
          "a run keeps at most " + std::to_string(kMaxIssueSummaries) + " issue summaries");
    // Beside the run's artifacts, pruned with them (as the record is).
    file =
        (fs::path(store_.artifact_dir(job.run_id)) / "issues" / (std::to_string(n + 1) + ".json"))
            .string();
  }
  ec = keep_body(req, file);
  if (ec) return error(500, "io_error", "could not store the issues: " + ec.message());
  ArtifactRecord a;
  a.run_id = job.run_id;
  a.kind = "issues";
  a.name = name;
  a.stage_id = rec.stage_id;
  a.size = size;
  a.file = file;
  a.created_at = engine_.now();
  if (Status st = store_.runs().add_artifact(a); !st) return error_response(st.error());
  log::info(
      "controller", "issues.stored",
      {{"run", std::to_string(job.run_id)}, {"stage", rec.stage_id}, {"agent_token", who.name}});
  return stored();
}

}  // namespace gantry::controller
