#include "operator/controller/listen.h"

#include <boost/asio/ip/address.hpp>

namespace opscopilot::controller {

kube::Result<int> listenOn(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::string_view what) {
  namespace asio = boost::asio;
  const std::string name(what);
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return kube::Error{0, "InvalidConfig", name + " must be host:port: " + address};
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.substr(0, colon), ec);
  if (ec) return kube::Error{0, "InvalidConfig", name + " has a bad IP: " + address};
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return kube::Error{0, "InvalidConfig", name + " has a bad port: " + address};
  asio::ip::tcp::endpoint ep(ip, static_cast<unsigned short>(port));
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return kube::Error{0, "InvalidConfig", "cannot listen on " + address + ": " + ec.message()};
  return static_cast<int>(acceptor.local_endpoint().port());
}

}  // namespace opscopilot::controller
