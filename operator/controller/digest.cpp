#include "operator/controller/digest.h"

#include <openssl/evp.h>

namespace opscopilot::controller {

std::string sha256Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int k = 0; k < len; ++k) {
    out += hex[md[k] >> 4];
    out += hex[md[k] & 0xf];
  }
  return out;
}

std::string boundedName(std::string_view prefix, std::string_view suffix) {
  constexpr std::size_t kMaxName = 253;  // a DNS subdomain
  if (prefix.size() + suffix.size() <= kMaxName) return std::string(prefix) + std::string(suffix);
  const std::string hash = "-" + sha256Hex(prefix).substr(0, 10);
  std::string cut(prefix.substr(0, kMaxName - hash.size() - suffix.size()));
  while (!cut.empty() && (cut.back() == '-' || cut.back() == '.')) cut.pop_back();
  return cut + hash + std::string(suffix);
}

}  // namespace opscopilot::controller
