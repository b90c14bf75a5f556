# The operator image for people who build with Docker (or Podman, or
# BuildKit). hack/image.sh builds the same layout without any of them:
# the stripped binary, exactly its shared libraries, the CA certificates and
# a non-root user; no shell, no package manager.
#
#   docker build -t opscopilot/operator:0.1.0 .
FROM debian:12-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake ninja-build pkg-config ca-certificates \
      libboost1.81-dev libssl-dev rapidjson-dev libyaml-cpp-dev prometheus-cpp-dev libre2-dev binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY agent agent
COPY operator operator
COPY tools tools
COPY config/operator.yaml config/operator.yaml
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPSCOPILOT_BUILD_TESTS=OFF \
 && cmake --build build --target opscopilot-operator
# Stage the binary with exactly the libraries ldd resolves, as hack/image.sh does.
RUN set -eu; mkdir -p /out/usr/local/bin /out/etc/opscopilot /out/etc/ssl/certs /out/tmp /out/home/nonroot; \
    chmod 1777 /out/tmp; \
    strip --strip-unneeded -o /out/usr/local/bin/opscopilot-operator build/opscopilot-operator; \
    for lib in $(ldd build/opscopilot-operator | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u); do \
      mkdir -p "/out$(dirname "$lib")"; cp -L "$lib" "/out$lib"; \
    done; \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    cp config/operator.yaml /out/etc/opscopilot/operator.yaml; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /out/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group; \
    printf 'hosts: files dns\n' > /out/etc/nsswitch.conf; \
    chown 65532:65532 /out/home/nonroot

FROM scratch
COPY --from=build /out/ /
USER 65532:65532
WORKDIR /home/nonroot
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/opscopilot-operator"]
CMD ["--config=/etc/opscopilot/operator.yaml"]
