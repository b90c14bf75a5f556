#include "operator/kube/watcher.h"

#include <algorithm>

namespace opscopilot::kube {

Watcher::Watcher(std::shared_ptr<Client> client, WatcherOptions options)
    : client_(std::move(client)), opts_(std::move(options)), rng_(std::random_device{}()) {}

std::string Watcher::lastResourceVersion() const {
  std::lock_guard lock(mu_);
  return rv_;
}

std::chrono::milliseconds Watcher::jittered(std::chrono::milliseconds d) {
  // Full jitter in [d/2, d]: reconnecting clients spread out after an outage.
  std::uniform_real_distribution<double> dist(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(d.count()) * dist(rng_)));
}

void Watcher::run(WatchSink& sink, net::Cancellation& cancel) {
  std::string rv = opts_.initialResourceVersion;
  bool needList = rv.empty();
  auto backoff = opts_.backoffInitial;
  auto setRv = [&](std::string v) {
    rv = v;
    std::lock_guard lock(mu_);
    rv_ = std::move(v);
  };
  auto wait = [&] {
    bool cancelled = cancel.sleepFor(jittered(backoff));
    backoff = std::min(backoff * 2, opts_.backoffMax);
    return !cancelled;
  };

  while (!cancel.cancelled()) {
    if (needList) {
      ListOptions lo{opts_.labelSelector, opts_.fieldSelector, opts_.pageSize, {}, {}, {}};
      ++lists_;
      std::vector<ObjectPtr> items;
      std::string listRv;
      std::optional<Error> failed;
      do {
        auto page = client_->listPage(opts_.resource, opts_.ns, lo, opts_.request);
        if (!page.ok()) {
          failed = page.error();
          break;
        }
        if (listRv.empty()) listRv = page->resourceVersion;  // the snapshot of the first page
        for (auto& item : page->items) items.push_back(opts_.transform ? opts_.transform(item) : std::move(item));
        lo.continueToken = page->continueToken;
      } while (!lo.continueToken.empty() && !cancel.cancelled());
      if (failed || cancel.cancelled()) {
        if (failed) sink.onError(*failed);
        if (!wait()) break;
        continue;
      }
      setRv(listRv);
      sink.onSync(std::move(items), rv);
      needList = false;
    }

    WatchDecoder decoder;
    std::vector<WatchEvent> events;
    bool gone = false;
    bool progressed = false;
    std::optional<Error> streamError;
    WatchOptions wo;
    wo.resourceVersion = rv;
    wo.labelSelector = opts_.labelSelector;
    wo.fieldSelector = opts_.fieldSelector;
    wo.idleTimeout = opts_.idleTimeout;
    std::uniform_int_distribution<std::int64_t> timeoutDist(opts_.minWatchTimeout.count(),
                                                            2 * opts_.minWatchTimeout.count() - 1);
    wo.timeoutSeconds = std::max<std::int64_t>(1, timeoutDist(rng_));
    ++watches_;
    const auto watchStart = std::chrono::steady_clock::now();
    auto result = client_->watch(
        opts_.resource, opts_.ns, wo,
        [&](std::string_view data) {
          events.clear();
          auto fed = decoder.feed(data, events);
          for (auto& ev : events) {
            if (ev.type == WatchEventType::Error) {
              if (ev.error.isGone()) {
                gone = true;
              } else {
                streamError = ev.error;
              }
              return false;
            }
            if (auto v = ev.object->resourceVersion(); !v.empty()) setRv(std::string(v));
            progressed = true;
            if (ev.type == WatchEventType::Bookmark) continue;
            if (opts_.transform) ev.object = opts_.transform(ev.object);
            sink.onEvent(ev);
          }
          if (!fed.ok()) {
            streamError = fed.error();
            return false;
          }
          return true;
        },
        cancel, opts_.request);

    if (cancel.cancelled()) break;
    if (gone || (!result.ok() && result.error().isGone())) {
      needList = true;  // our resourceVersion is compacted away: start over
      continue;
    }
    if (progressed) backoff = opts_.backoffInitial;
    if (result.ok() && !streamError) {
      // The server ended the watch: resume at once, unless it keeps ending
      // them before anything arrives, which would spin.
      if (progressed || std::chrono::steady_clock::now() - watchStart > std::chrono::seconds(1)) continue;
      if (!wait()) break;
      continue;
    }
    sink.onError(streamError ? *streamError : result.error());
    if (!wait()) break;
  }
}

}  // namespace opscopilot::kube
