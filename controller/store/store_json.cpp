// JSON text for the store's map and list columns (params, agent labels).
#include <nlohmann/json.hpp>

#include "store/store_impl.hpp"

namespace gantry::controller {

std::string encode_string_map(const std::map<std::string, std::string>& values) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : values) j[k] = v;
  // Replace invalid UTF-8 rather than throw: params are user input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_string_map(std::string_view text, std::map<std::string, std::string>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return true;
}

std::string encode_string_list(const std::vector<std::string>& values) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : values) j.push_back(v);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool decode_string_list(std::string_view text, std::vector<std::string>& out) {
  out.clear();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return true;
}

}  // namespace gantry::controller
