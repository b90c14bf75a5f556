// The web timeline's page (operator/web: index.html, app.js, style.css),
// compiled in from those files (CMake generates web_assets.cpp from
// operator/web/web_assets.cpp.in).
#pragma once

#include <string_view>

namespace opscopilot::controller {

struct WebAsset {
  std::string_view path;         // "/index.html"
  std::string_view contentType;  // "text/html; charset=utf-8"
  std::string_view body;
};

// The asset served at path, or nullptr.
const WebAsset* webAsset(std::string_view path);

}  // namespace opscopilot::controller
