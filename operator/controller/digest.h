// SHA-256 as lowercase hex, for names derived from content (ApprovalRequests,
// Events) and digests the API documents (actionDigest).
#pragma once

#include <string>
#include <string_view>

namespace opscopilot::controller {

// The 64 lowercase hex digits of SHA-256(text).
std::string sha256Hex(std::string_view text);

// A DNS-subdomain name "<prefix><suffix>" of at most 253 characters: when
// too long, the prefix is cut (never ending in '-' or '.') and a hash of the
// whole prefix keeps names of different objects apart.
std::string boundedName(std::string_view prefix, std::string_view suffix);

}  // namespace opscopilot::controller
