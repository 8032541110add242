#!/usr/bin/env bash
# Build the production image (`make image`) with buildah: no Docker engine, and no image registry
# reachable, so nothing comes FROM docker.io. Two steps:
#   1. A base image, made once per machine and kept in buildah's storage: Debian bookworm from
#      deb.debian.org (debootstrap, minbase) with this machine's Python 3.10 copied into /opt/python.
#      Bookworm has no Python 3.10 and Rasa 3.6 needs it; the pyenv build found by
#      scripts/find_python310 was built on this same bookworm, against the libraries installed here.
#      Its name carries a hash of what goes into it, so a change makes a new one.
#   2. The image, from deploy/Dockerfile on that base: requirements.txt only, the code, the data and
#      the trained model, user 10001. Named as the manifests in deploy/ name it.
# Needs root, buildah and debootstrap (`make system-deps`) and models/medius.tar.gz (`make train`).
set -euo pipefail
cd "$(dirname "$0")/.."

# vfs: works anywhere root works (no overlay or FUSE mounts); chroot: no user namespaces needed.
# (buildah 1.28 ignores STORAGE_DRIVER in the environment: the flag goes on every call.)
buildah() { command buildah --storage-driver vfs "$@"; }
export BUILDAH_ISOLATION=chroot

IMAGE=${IMAGE:-$(sed -n 's/^ *image: *//p' deploy/web.yaml | head -n 1)}
PYTHON=$(scripts/find_python310)
PYTHON_HOME=$("$PYTHON" -c 'import sys; print(sys.base_prefix)')
PYTHON_VERSION=$("$PYTHON" -c 'import platform; print(platform.python_version())')
# What Python's own modules link against (ssl, sqlite3, ctypes, lzma, bz2, readline, uuid, dbm),
# tzdata for zoneinfo, CA certificates for SMTP and webhooks over TLS, passwd for useradd.
BASE_PACKAGES=ca-certificates,tzdata,passwd,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libexpat1,libreadline8,libncursesw6,libtinfo6,libuuid1,libgdbm6,libgdbm-compat4,libnsl2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Debian's packages, kept between base builds (debootstrap checks each against the release's hashes).
DEBS=/var/tmp/medius-image/debs
WHEELS=/var/tmp/medius-image/wheels

[ "$(id -u)" = 0 ] || { echo "build-image.sh: run as root (buildah with the vfs driver)" >&2; exit 1; }
[ -f models/medius.tar.gz ] || { echo "build-image.sh: models/medius.tar.gz is missing: make train" >&2; exit 1; }

build_base() {
    local root
    container=$(buildah from scratch)
    trap 'buildah rm "$container" >/dev/null 2>&1' EXIT  # a base left half-made
    root=$(buildah mount "$container")
    mkdir -p "$DEBS"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$DEBS" bookworm "$root" "$MIRROR" >/dev/null
    # The interpreter and its standard library, without tests, IDLE, Tk and its site-packages
    # (pip comes from ensurepip below, everything else from requirements.txt).
    mkdir -p "$root/opt/python/bin"
    cp -a "$PYTHON_HOME/bin/python3.10" "$root/opt/python/bin/"
    ln -s python3.10 "$root/opt/python/bin/python3"
    ln -s python3.10 "$root/opt/python/bin/python"
    tar -C "$PYTHON_HOME" -cf - \
        --exclude='lib/python3.10/test' --exclude='lib/python3.10/idlelib' \
        --exclude='lib/python3.10/tkinter' --exclude='lib/python3.10/turtledemo' \
        --exclude='lib/python3.10/lib-dynload/_tkinter*' --exclude='lib/python3.10/config-3.10-*' \
        --exclude='lib/python3.10/site-packages/*' --exclude='*.opt-1.pyc' --exclude='*.opt-2.pyc' \
        --exclude='lib/pkgconfig' lib | tar -C "$root/opt/python" -xf -
    # The interpreter's run path names the pyenv folder: the loader finds libpython here instead.
    echo /opt/python/lib > "$root/etc/ld.so.conf.d/python.conf"
    chroot "$root" /sbin/ldconfig
    # Its output only on failure: it warns about running as root, and ignores PIP_ROOT_USER_ACTION.
    if ! chroot "$root" /opt/python/bin/python3 -m ensurepip --default-pip >"$root/tmp/ensurepip.log" 2>&1; then
        cat "$root/tmp/ensurepip.log" >&2
        return 1
    fi
    rm "$root/tmp/ensurepip.log"
    chroot "$root" /opt/python/bin/python3 -c \
        'import ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, readline, zoneinfo; zoneinfo.ZoneInfo("America/Chicago")'
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    buildah unmount "$container" >/dev/null
    buildah config --env PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --cmd python3 \
        --label "org.opencontainers.image.description=Debian bookworm (minbase) with Python $PYTHON_VERSION in /opt/python" \
        "$container"
    buildah commit --quiet --rm "$container" "$BASE" >/dev/null
    trap - EXIT
}

key=$(printf '%s\n' "$PYTHON_VERSION" "$PYTHON_HOME" "$BASE_PACKAGES" "$MIRROR" "$(declare -f build_base)" \
      | sha256sum | cut -c1-12)
BASE=localhost/medius-base:bookworm-py$PYTHON_VERSION-$key

started=$SECONDS
if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
    echo "Base image $BASE: already built"
else
    echo "Building the base image $BASE (debootstrap from $MIRROR, about 5 minutes)"
    build_base
    echo "Base image built in $((SECONDS - started)) s"
    for old in $(buildah images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/medius-base:' | grep -vxF "$BASE"); do
        buildah rmi "$old" >/dev/null 2>&1 || true  # an earlier base
    done
fi

# What the image is made of: the base, the recipe and the build context (the ignore file's allow-list).
# An image already built from the same is not built again.
context=$(sed -n 's/^!//p' deploy/Dockerfile.dockerignore)
# shellcheck disable=SC2086  # the allow-list's paths, one word each
inputs=$( { echo "$BASE"; cat deploy/Dockerfile deploy/Dockerfile.dockerignore
           tar -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
               --exclude=__pycache__ --exclude='*.pyc' $context; } | sha256sum | cut -c1-16)
built_from=$(buildah inspect --type image --format '{{index .OCIv1.Config.Labels "medius.inputs"}}' "$IMAGE" \
             2>/dev/null || true)
if [ "$built_from" = "$inputs" ]; then
    echo "Image $IMAGE: already built from the same base, recipe and files ($inputs)"
    exit 0
fi

# The wheels of requirements.txt, from this machine's pip (its index, its proxy settings), kept
# between builds: the build itself installs them with no index and downloads nothing.
echo "Wheels for requirements.txt in $WHEELS"
mkdir -p "$WHEELS"
wheels() { "$PYTHON" -m pip wheel --quiet --disable-pip-version-check --find-links "$WHEELS" -w "$WHEELS" \
               -r requirements.txt "pip==23.3.2" "$@" >"$WHEELS.log" 2>&1; }
if ! wheels --no-index && ! wheels; then
    grep -v "is neither a file nor a directory" "$WHEELS.log" >&2  # not pip's complaints about this machine's config
    exit 1
fi

# Without --layers: with vfs every layer is a full copy of the file system, so one layer on the base
# is quicker than a cache of intermediate ones.
echo "Building $IMAGE from deploy/Dockerfile"
built=$SECONDS
buildah bud --quiet --pull-never --isolation chroot \
    --file deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore \
    --build-arg BASE="$BASE" --label medius.inputs="$inputs" \
    --volume "$WHEELS:/run/wheels:ro" --build-arg PIP_FIND_LINKS=/run/wheels --build-arg PIP_NO_INDEX=1 \
    --tag "$IMAGE" . >/dev/null
# The image this one replaces, and any left by an interrupted build.
buildah rmi --prune >/dev/null 2>&1 || true
echo "Built $IMAGE in $((SECONDS - built)) s (the whole script: $((SECONDS - started)) s)"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$IMAGE" 2>/dev/null || true
