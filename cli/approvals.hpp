#pragma once
// `gantry approvals [--all] [--json]`, `gantry approve ID [--comment C]
// [-p K=V]...`, `gantry reject ID --comment C`: the change-request inbox of
// a release manager (SPEC §7, §10). IDs are GMUD-<n> or INPUT-<n>. And
// `gantry releases [--env E] [--json]`, the release ledger (SPEC §8), with
// `gantry rollback|promote|abort R-n`.
// Exit status: 0 done, 1 refused (403, 409: not eligible, decided already,
// closed), 2 usage or connection error.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "remote.hpp"

namespace gantry::cli {

int approvals_command(const Remote& remote, const std::string& cmd,
                      const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// approvals_json.cpp
std::string approvals_table(const std::string& body, int64_t now_ms);
std::string approvals_items_json(const std::string& body);  // the list alone, as SPEC §10 shows
std::string decision_summary(const std::string& body, int64_t now_ms);
std::string decision_body(const std::string& comment,
                          const std::map<std::string, std::string>& params);

// `gantry releases [--env E] [--json]` (releases_json.cpp)
std::string releases_table(const std::string& body);
std::string releases_items_json(const std::string& body);
int64_t rollback_run_id(const std::string& body);  // {"release", "run"}: the run, 0 if none
// A string field of a release ("status", "progress", "reason"); "" if none.
std::string release_field(const std::string& body, const char* key);

}  // namespace gantry::cli
