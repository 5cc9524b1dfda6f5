#include "job_host.hpp"

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "gantry/net/http_client.hpp"
#include "gantry/net/url.hpp"
#include "gantry/protocol/codec.hpp"

namespace gantry::agent {

HttpJobHost::HttpJobHost(std::function<std::string()> controller, JobCredentials credentials,
                         std::string agent_id, std::string job_id, uint64_t epoch,
                         std::function<void(std::string, std::string)> on_step)
    : controller_(std::move(controller)),
      credentials_(std::move(credentials)),
      agent_id_(std::move(agent_id)),
      job_id_(std::move(job_id)),
      epoch_(epoch),
      on_step_(std::move(on_step)) {}

std::string HttpJobHost::url(const std::string& kind) const {
  return controller_() + "/api/v1/agent/jobs/" + net::url_encode(job_id_) + "/" + kind +
         "?epoch=" + std::to_string(epoch_) + "&agent=" + net::url_encode(agent_id_);
}

void HttpJobHost::authorize(net::ClientRequest& req) const {
  req.bearer_token = credentials_.agent_token;
  req.headers.emplace_back("X-Gantry-Job-Token", credentials_.job_token);
  req.tls = credentials_.tls;
}

InputReply HttpJobHost::ask_input(const InputQuestion& question) {
  net::ClientRequest req;
  req.method = "POST";
  req.url = url("input");
  authorize(req);
  req.content_type = "application/json";
  req.body = input_question_json(question);
  req.timeout = std::chrono::seconds(30);
  net::ClientResponse r = net::http_request(req);
  if (!r.ok) return InputReply{"error", "", "", r.error};
  if (r.status != 200)
    return InputReply{r.status >= 500 ? "error" : "refused", "", "",
                      "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300)};
  return parse_input_reply(r.body);
}

protocol::NotifyReply HttpJobHost::notify(const protocol::Notify& message) {
  protocol::Notify m = message;
  m.job_id = job_id_;
  m.epoch = epoch_;
  net::ClientRequest req;
  req.method = "POST";
  req.url = url("notify");
  authorize(req);
  req.content_type = "application/json";
  req.body = protocol::encode_notify(m);
  req.timeout = std::chrono::seconds(30);
  req.max_body = 64 * 1024;
  net::ClientResponse r = net::http_request(req);
  if (!r.ok) return {"error", r.error};
  if (r.status != 200)
    return {r.status >= 500 ? "error" : "refused",
            "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300)};
  auto reply = protocol::decode_notify_reply(r.body);
  if (auto* e = std::get_if<protocol::DecodeError>(&reply)) return {"error", e->message};
  return std::get<protocol::NotifyReply>(reply);
}

bool HttpJobHost::coordinate(const std::string& kind, const std::string& body, std::string& answer,
                             std::string& error) {
  net::ClientRequest req;
  req.method = "POST";
  req.url = url(kind);
  authorize(req);
  req.content_type = "application/json";
  req.body = body;
  req.timeout = std::chrono::seconds(30);
  req.max_body = 64 * 1024;
  net::ClientResponse r = net::http_request(req);
  if (!r.ok) {
    error = r.error;
    return false;
  }
  if (r.status != 200) {
    // The controller's {"error": {"message"}} says why in words; anything else as it came.
    std::string why = r.body.substr(0, 300);
    nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("message") && j["error"]["message"].is_string())
      why = j["error"]["message"].get<std::string>().substr(0, 1000);
    error = std::string(r.status >= 500 ? "" : "refused: ") + why + " (HTTP " +
            std::to_string(r.status) + ")";
    return false;
  }
  answer = std::move(r.body);
  return true;
}

bool HttpJobHost::fetch_samples(const std::string& url, std::vector<double>& out,
                                std::string& error) {
  net::ClientRequest req;
  req.method = "GET";
  req.url = url;
  req.timeout = std::chrono::seconds(30);
  net::ClientResponse r = net::http_request(req);
  if (!r.ok) {
    error = url + ": " + r.error;
    return false;
  }
  if (r.status != 200) {
    error = url + ": HTTP " + std::to_string(r.status);
    return false;
  }
  return parse_prometheus_samples(r.body, out, error);
}

bool HttpJobHost::transfer(const std::string& method, const std::string& kind,
                           const std::string& query, const std::string& file, std::string& error) {
  net::ClientRequest req;
  req.method = method;
  req.url = url(kind) + "&" + query;
  authorize(req);
  req.content_type = "application/octet-stream";
  req.timeout = std::chrono::minutes(10);
  if (method == "PUT") {
    req.body_file = file;
  } else {
    req.output_file = file;
  }
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (attempt) std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
    net::ClientResponse r = net::http_request(req);
    if (!r.ok) {
      error = r.error;
      continue;
    }
    if (r.status >= 200 && r.status < 300) return true;
    error = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 300);
    if (r.status < 500) return false;  // refused: retrying will not help
  }
  return false;
}

bool HttpJobHost::upload_artifact(const std::string& rel_path, const std::string& abs_path,
                                  std::string& error) {
  return transfer("PUT", "artifacts", "path=" + net::url_encode(rel_path), abs_path, error);
}

bool HttpJobHost::upload_stash(const std::string& name, const std::string& tar_path,
                               std::string& error) {
  return transfer("PUT", "stash", "name=" + net::url_encode(name), tar_path, error);
}

bool HttpJobHost::download_stash(const std::string& name, const std::string& tar_path,
                                 std::string& error) {
  return transfer("GET", "stash", "name=" + net::url_encode(name), tar_path, error);
}

bool HttpJobHost::upload_tests(const std::string& report_path, std::string& error) {
  return transfer("PUT", "tests", "name=junit", report_path, error);
}

bool HttpJobHost::upload_report_file(const std::string& name, const std::string& rel_path,
                                     const std::string& abs_path, std::string& error) {
  return transfer("PUT", "reports",
                  "name=" + net::url_encode(name) + "&path=" + net::url_encode(rel_path), abs_path,
                  error);
}

bool HttpJobHost::upload_report_index(const std::string& name, const std::string& index_path,
                                      std::string& error) {
  return transfer("PUT", "reports", "name=" + net::url_encode(name) + "&index=1", index_path,
                  error);
}

bool HttpJobHost::upload_issues(const std::string& id, const std::string& report_path,
                                std::string& error) {
  return transfer("PUT", "issues", "name=" + net::url_encode(id), report_path, error);
}

void HttpJobHost::step_event(const std::string& step, const std::string& state) {
  if (on_step_) on_step_(step, state);
}

}  // namespace gantry::agent
