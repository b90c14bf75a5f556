// Result<T>: a value or an Error. Expected failures (HTTP errors, connection
// errors, bad input) travel as values; exceptions are kept for start-up.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace opscopilot::kube {

// An error as the Kubernetes API reports it. httpCode is 0 when no HTTP
// response was received (connection failure, timeout, bad input).
struct Error {
  int httpCode = 0;
  std::string reason;   // Kubernetes Status reason: NotFound, Conflict, Forbidden, ...
  std::string message;  // one human sentence
  // Set when the refusal came from OpsCopilot's own access check rather than
  // the API server: "requester" when the run's requester may not make the
  // request (tools/access_review.h).
  std::string deniedBy;

  bool isNotFound() const { return reason == "NotFound"; }
  bool isConflict() const { return reason == "Conflict"; }
  bool isForbidden() const { return reason == "Forbidden"; }
  bool isGone() const { return httpCode == 410 || reason == "Gone" || reason == "Expired"; }
  bool isTimeout() const { return reason == "Timeout"; }
  // The body was refused for its size: 413 from the API server (over its
  // 3 MiB request limit, or from an admission policy), or etcd's "request is
  // too large" (over its 1.5 MiB default), which the API server passes on as
  // a 500 (kubernetes/kubernetes#112152). Sending it again fails again.
  bool isTooLarge() const {
    return httpCode == 413 || reason == "RequestEntityTooLarge" ||
           (httpCode == 500 && message.find("request is too large") != std::string::npos);
  }
  // The body was refused for what it holds (422 Invalid: schema, CEL rules,
  // admission). Sending it again fails again.
  bool isInvalid() const { return httpCode == 422 || reason == "Invalid"; }
  // True for failures that a later attempt may not see: connection errors,
  // timeouts, 429 and 5xx, except etcd's "request is too large".
  bool isRetryable() const {
    return (httpCode == 0 || httpCode == 429 || httpCode >= 500) && !isTooLarge();
  }
  std::string toString() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}        // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace opscopilot::kube
