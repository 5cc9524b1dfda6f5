// The agent's JSON for the controller: an input step's question and answer,
// and Prometheus query results read by compareMetrics.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "job_host.hpp"

using namespace gantry::agent;

TEST_CASE("Prometheus vector and matrix results give their sample values", "[job_host]") {
  std::vector<double> out;
  std::string error;
  REQUIRE(parse_prometheus_samples(
      R"({"status":"success","data":{"resultType":"matrix","result":[
           {"metric":{"pod":"a"},"values":[[1700000000,"12.5"],[1700000015,"13"]]},
           {"metric":{"pod":"b"},"values":[[1700000000,"NaN"],[1700000015,"14"]]}]}})",
      out, error));
  CHECK(out == std::vector<double>{12.5, 13, 14});  // NaN is no sample
  out.clear();
  REQUIRE(parse_prometheus_samples(
      R"({"data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"7"]}]}})", out,
      error));
  CHECK(out == std::vector<double>{7});
  CHECK_FALSE(parse_prometheus_samples(R"({"status":"error"})", out, error));
  CHECK(error.find("not a Prometheus query result") == 0);
  CHECK_FALSE(parse_prometheus_samples("garbage", out, error));
}

TEST_CASE("input questions carry their parameter definitions", "[job_host]") {
  InputQuestion q;
  q.id = "go";
  q.message = "Go?";
  CHECK(input_question_json(q).find("parameters") == std::string::npos);
  q.parameters.push_back({"WHERE", "choice", "eu", "region", {"eu", "us"}, false});
  nlohmann::json j = nlohmann::json::parse(input_question_json(q));
  CHECK(j["parameters"] == nlohmann::json::parse(
                               R"([{"name":"WHERE","type":"choice","default":"eu",
                                   "description":"region","choices":["eu","us"]}])"));
}

TEST_CASE("input replies: a malformed answer is an error, not an approval", "[job_host]") {
  InputReply r = parse_input_reply(R"({"id":"INPUT-2","status":"approved","approver":"rita"})");
  CHECK(r.status == "approved");
  CHECK(r.name == "INPUT-2");
  CHECK(r.approver == "rita");
  CHECK(r.values.empty());
  r = parse_input_reply(
      R"({"id":"INPUT-3","status":"approved","approver":"rita","values":{"WHO":"al","N":1}})");
  CHECK(r.values == std::map<std::string, std::string>{{"WHO", "al"}});
  CHECK(parse_input_reply("{}").status == "error");
  CHECK(parse_input_reply("[\"approved\"]").status == "error");
}
