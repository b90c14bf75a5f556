// Mapping of Kubernetes API responses to Error values.
#pragma once

#include <string_view>

#include "operator/kube/result.h"

namespace opscopilot::kube {

// Returns the Status reason the API server uses for an HTTP code
// ("NotFound" for 404, "Conflict" for 409, ...), or "Unknown".
std::string_view reasonForHttpCode(int httpCode);

// Builds the Error for a non-2xx response. When the body is a
// meta/v1 Status its reason and message are used; otherwise the reason comes
// from the HTTP code and the message from the (shortened) body.
Error errorFromResponse(int httpCode, std::string_view body);

// An error for a failure before any HTTP response: reason "ConnectionError",
// or "Timeout" when timedOut is true.
Error transportError(std::string_view what, bool timedOut);

}  // namespace opscopilot::kube
