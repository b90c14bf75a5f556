#!/usr/bin/env python3
"""Builds a single-layer OCI image archive from a directory, reproducibly.

    oci_image.py --rootfs DIR --name docker.io/opscopilot/operator:0.1.0 \
        --entrypoint '["/opscopilot-operator"]' --user 65532:65532 \
        --env PATH=/usr/bin --label org.opencontainers.image.version=0.1.0 \
        --output operator.tar

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...)
packed as a tar file, which `ctr images import`, `docker load` (24+),
`podman load` and `skopeo copy oci-archive:` accept. The image name is stored
in index.json as io.containerd.image.name (the full reference) and
org.opencontainers.image.ref.name (the tag).

Reproducible: the same directory contents give the same digest. Entries are
sorted, times are SOURCE_DATE_EPOCH (default 0), owners are 0:0 unless
--owner PATH=UID:GID says otherwise, and gzip carries no name or time.
Prints the manifest digest.
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def layer_tar(rootfs, mtime, owners):
    """Returns the uncompressed tar of rootfs, entries sorted, metadata fixed."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        paths = []
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                paths.append(os.path.join(dirpath, name))
        for path in sorted(paths, key=lambda p: os.path.relpath(p, rootfs)):
            rel = os.path.relpath(path, rootfs)
            st = os.lstat(path)
            info = tarfile.TarInfo(rel)
            info.mtime = mtime
            info.mode = stat.S_IMODE(st.st_mode)
            uid, gid = owner_of(rel, owners)
            info.uid, info.gid, info.uname, info.gname = uid, gid, "", ""
            if stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                sys.exit(f"oci_image: {path}: only directories, files and symlinks are supported")
    return buf.getvalue()


def owner_of(rel, owners):
    best = None
    for prefix, ids in owners.items():
        if rel == prefix or rel.startswith(prefix.rstrip("/") + "/"):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, ids)
    return best[1] if best else (0, 0)


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def add_bytes(tar, name, data, mtime):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--name", required=True, help="full reference, e.g. docker.io/opscopilot/operator:0.1.0")
    ap.add_argument("--entrypoint", default="[]", help="JSON array")
    ap.add_argument("--cmd", default="[]", help="JSON array")
    ap.add_argument("--user", default="")
    ap.add_argument("--workdir", default="/")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--label", action="append", default=[])
    ap.add_argument("--owner", action="append", default=[], help="PATH=UID:GID (path inside the rootfs)")
    ap.add_argument("--output", required=True)
    args = ap.parse_args()

    if not os.path.isdir(args.rootfs):
        sys.exit(f"oci_image: --rootfs {args.rootfs} is not a directory")
    if ":" not in args.name.rsplit("/", 1)[-1]:
        sys.exit(f"oci_image: --name {args.name} has no tag (images are never :latest by default here)")
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    owners = {}
    for o in args.owner:
        path, _, ids = o.partition("=")
        uid, _, gid = ids.partition(":")
        owners[path.strip("/")] = (int(uid), int(gid or uid))

    raw = layer_tar(args.rootfs, mtime, owners)
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz, mtime=0, compresslevel=9) as z:
        z.write(raw)
    layer = gz.getvalue()

    created = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Entrypoint": json.loads(args.entrypoint) or None,
            "Cmd": json.loads(args.cmd) or None,
            "User": args.user or None,
            "Env": args.env or None,
            "WorkingDir": args.workdir,
            "Labels": dict(l.split("=", 1) for l in args.label) or None,
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(raw)]},
        "history": [{"created": created, "created_by": "hack/lib/oci_image.py"}],
    }
    cfg["config"] = {k: v for k, v in cfg["config"].items() if v is not None}
    config = canonical(cfg)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER, "digest": digest(layer), "size": len(layer)}],
    })
    tag = args.name.rsplit(":", 1)[1]
    index = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST, "digest": digest(manifest), "size": len(manifest),
            "annotations": {"io.containerd.image.name": args.name, "org.opencontainers.image.ref.name": tag},
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    })

    tmp = args.output + ".tmp"
    with open(tmp, "wb") as f, tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, "oci-layout", canonical({"imageLayoutVersion": "1.0.0"}), mtime)
        add_bytes(tar, "index.json", index, mtime)
        for blob in sorted({digest(b): b for b in (config, manifest, layer)}.items()):
            add_bytes(tar, "blobs/sha256/" + blob[0].split(":", 1)[1], blob[1], mtime)
    os.replace(tmp, args.output)
    print(digest(manifest))


if __name__ == "__main__":
    main()
