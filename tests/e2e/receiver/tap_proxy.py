#!/usr/bin/env python3
"""A TCP tap for the end-to-end tests: forwards every connection on --port to
--upstream (host:port) unchanged, and appends what each direction carried to
--log-dir/N.up and N.down (N counts connections), so a test can see what was
on the wire between two programs it did not write.

  tap_proxy.py --port-file F --upstream 127.0.0.1:4000 --log-dir D
"""
import argparse
import os
import socket
import threading


def pipe(src, dst, log_path):
    with open(log_path, "ab") as log:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                log.write(data)
                log.flush()
                dst.sendall(data)
        except OSError:
            pass
    for s in (dst, src):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log-dir", required=True)
    args = ap.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    os.makedirs(args.log_dir, exist_ok=True)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    with open(args.port_file, "w") as f:
        f.write(str(server.getsockname()[1]))
    n = 0
    while True:
        client, _ = server.accept()
        n += 1
        try:
            upstream = socket.create_connection((host, int(port)))
        except OSError:
            client.close()
            continue
        base = os.path.join(args.log_dir, str(n))
        threading.Thread(target=pipe, args=(client, upstream, base + ".up"), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client, base + ".down"), daemon=True).start()


if __name__ == "__main__":
    main()
