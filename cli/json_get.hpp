#pragma once
// A field of an API answer or event: its value, or "" / 0 when it is absent
// or of another type. For the .cpp files that already read JSON.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace gantry::cli {

inline std::string json_str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline int64_t json_num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

}  // namespace gantry::cli
