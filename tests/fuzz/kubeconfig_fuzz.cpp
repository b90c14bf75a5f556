// Kubeconfig parsing on arbitrary YAML. The path is in a folder that does
// not exist, so relative file references fail instead of reading files.
#include <cstddef>
#include <cstdint>
#include <string>

#include "operator/kube/config.h"

using namespace opscopilot::kube;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = parseKubeconfig(text, "/nonexistent/opscopilot-fuzz/kubeconfig");
  if (cfg.ok()) (void)base64Decode(cfg->bearerToken);
  (void)parseKubeconfig(text, "/nonexistent/opscopilot-fuzz/kubeconfig", "other");
  (void)base64Decode(text);
  return 0;
}
