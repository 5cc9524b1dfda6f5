#pragma once
// The operators' web page (web/*.html, *.js, *.css), embedded into the
// controller at build time by web/embed.cmake. Read-only, static storage.

#include <string_view>

namespace gantry::web {

struct Asset {
  std::string_view name;  // relative to web/: "index.html", "app.js"
  std::string_view data;  // the file's bytes
};

// The embedded file called `name`, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace gantry::web
