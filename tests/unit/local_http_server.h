// LocalHttpServer: a plain-HTTP server on loopback for tests of real socket
// I/O. It serves one connection at a time; for each request it has read
// (head and Content-Length body) it calls the test's handler, which writes
// whatever the scenario needs: an answer, a trickle, a flood, or nothing.
// Header-only; not part of the operator build.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace opscopilot::test {

class LocalHttpServer {
 public:
  // One accepted connection, as the handler sees it.
  class Conn {
   public:
    Conn(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
    // Writes all of data; false when the peer is gone or the server stops.
    bool write(std::string_view data) {
      while (!data.empty()) {
        if (stopping_) return false;
        const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        data.remove_prefix(static_cast<std::size_t>(n));
      }
      return true;
    }
    // One piece of a chunked body.
    bool chunk(std::string_view data) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", data.size());
      return write(size) && write(data) && write("\r\n");
    }
    // Blocks until the client closes the connection (true) or the server
    // stops (false); what the client sends meanwhile is discarded.
    bool waitForClose() {
      char buf[4096];
      while (::recv(fd_, buf, sizeof buf, 0) > 0) {}  // the server's destructor shuts the socket down
      return !stopping_;
    }
    bool stopping() const { return stopping_; }

   private:
    int fd_;
    const std::atomic<bool>& stopping_;
  };

  using Handler = std::function<void(Conn&, const std::string& request)>;

  explicit LocalHttpServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 8);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LocalHttpServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    {
      std::lock_guard lock(mu_);
      if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    }
    thread_.join();
    ::close(fd_);
  }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stopping_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      {
        std::lock_guard lock(mu_);
        client_ = c;
      }
      serveConnection(c);
      {
        std::lock_guard lock(mu_);
        client_ = -1;
      }
      ::close(c);
    }
  }

  void serveConnection(int c) {
    std::string buf;
    char chunk[65536];
    Conn conn(c, stopping_);
    while (!stopping_) {
      const auto end = buf.find("\r\n\r\n");
      if (end == std::string::npos) {
        const auto n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      std::size_t length = 0;
      for (std::string_view name : {"Content-Length: ", "content-length: "}) {
        if (auto p = buf.find(name); p != std::string::npos && p < end) length = std::stoul(buf.substr(p + name.size()));
      }
      while (buf.size() < end + 4 + length) {
        const auto n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<std::size_t>(n));
      }
      const std::string request = buf.substr(0, end + 4 + length);
      buf.erase(0, end + 4 + length);
      ++requests_;
      handler_(conn, request);
      return;  // one request per connection: the handler decides how it ends
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  int client_ = -1;
  std::thread thread_;
};

}  // namespace opscopilot::test
