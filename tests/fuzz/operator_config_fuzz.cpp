// Operator configuration parsing and validation on arbitrary YAML.
#include <cstddef>
#include <cstdint>
#include <string>

#include "operator/controller/operator_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)opscopilot::controller::parseOperatorConfig(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  return 0;
}
