#pragma once
// The JobHost a job's runner uses to reach the controller for files:
// artifacts and stashes go up, and stashes come down, over HTTP with the
// agent token (PUT/GET /api/v1/agent/jobs/JOB/{artifacts,stash}?epoch=E);
// an `input` step's question goes up the same way (POST .../input).
// Step events go through the agent's link (posted to its loop). Called from
// the job's runner thread; each call blocks. Transient failures are retried
// a few times with a short backoff.

#include <functional>
#include <string>

#include "gantry/net/http_client.hpp"
#include "gantry/net/tls.hpp"
#include "runner/job_runner.hpp"

namespace gantry::agent {

// The body of POST .../input and its answer (job_host_json.cpp).
std::string input_question_json(const InputQuestion& question);
InputReply parse_input_reply(const std::string& body);  // status "error" when malformed
// The sample values of a Prometheus query result (vector or matrix).
bool parse_prometheus_samples(const std::string& body, std::vector<double>& out,
                              std::string& error);

// What a job's requests to the controller carry: the agent's token, the attempt's job token,
// and how to check the controller's certificate.
struct JobCredentials {
  std::string agent_token;
  std::string job_token;
  net::TlsClientOptions tls;
};

class HttpJobHost : public JobHost {
 public:
  // `controller`: the base URL of the controller the agent is connected to now (asked at every
  // request: after a failover, the new leader).
  HttpJobHost(std::function<std::string()> controller, JobCredentials credentials,
              std::string agent_id, std::string job_id, uint64_t epoch,
              std::function<void(std::string, std::string)> on_step);
  bool upload_artifact(const std::string& rel_path, const std::string& abs_path,
                       std::string& error) override;
  bool upload_stash(const std::string& name, const std::string& tar_path,
                    std::string& error) override;
  bool download_stash(const std::string& name, const std::string& tar_path,
                      std::string& error) override;
  bool upload_tests(const std::string& report_path, std::string& error) override;
  bool upload_report_file(const std::string& name, const std::string& rel_path,
                          const std::string& abs_path, std::string& error) override;
  bool upload_report_index(const std::string& name, const std::string& index_path,
                           std::string& error) override;
  bool upload_issues(const std::string& id, const std::string& report_path,
                     std::string& error) override;
  void step_event(const std::string& step, const std::string& state) override;
  InputReply ask_input(const InputQuestion& question) override;
  bool fetch_samples(const std::string& url, std::vector<double>& out, std::string& error) override;
  protocol::NotifyReply notify(const protocol::Notify& message) override;
  bool coordinate(const std::string& kind, const std::string& body, std::string& answer,
                  std::string& error) override;

 private:
  // `query`: the request's own parameters, already encoded ("path=a%2Fb").
  bool transfer(const std::string& method, const std::string& kind, const std::string& query,
                const std::string& file, std::string& error);

  std::string url(const std::string& kind) const;

  // Fills in the credentials of a request to the controller's job endpoints.
  void authorize(net::ClientRequest& req) const;

  std::function<std::string()> controller_;
  JobCredentials credentials_;
  std::string agent_id_, job_id_;
  uint64_t epoch_;
  std::function<void(std::string, std::string)> on_step_;
};

}  // namespace gantry::agent
