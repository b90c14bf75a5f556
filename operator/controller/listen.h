// Opening the operator's own HTTP listeners (health and metrics, the web
// timeline) on "host:port".
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>

#include "operator/kube/result.h"

namespace opscopilot::controller {

// Opens, binds and listens acceptor on address ("host:port"; port 0 picks
// one). Returns the port; InvalidConfig naming what (e.g. "web.address")
// when the address is malformed or cannot be bound.
kube::Result<int> listenOn(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::string_view what);

}  // namespace opscopilot::controller
