#!/usr/bin/env bash
# Builds the Dockerfile's base image (node:20-bookworm-slim) locally, for machines that can
# reach the Debian and npm registries but no image registry (so `FROM node:...` cannot pull).
#
#   sudo scripts/make-node-base-image.sh            # skips the work when the image exists
#   sudo scripts/make-node-base-image.sh --force    # rebuilds it (or FORCE=1)
#
# What it makes, laid out as the official node image is:
#   - a Debian bookworm root file system (`debootstrap --variant=minbase`) from this machine's
#     Debian mirror (DEBIAN_MIRROR overrides it), with apt sources for bookworm,
#     bookworm-updates and bookworm-security;
#   - this machine's node binary at /usr/local/bin/node, npm (and corepack, when present)
#     under /usr/local/lib/node_modules with /usr/local/bin symlinks, and the Node headers in
#     /usr/local/include/node with `npm_config_nodedir=/usr/local`, so native modules
#     (better-sqlite3) compile without downloading headers;
#   - a `node` user and group (uid/gid 1000, home /home/node);
#   - this machine's CA certificates (/etc/ssl/certs, /usr/local/share/ca-certificates) with
#     NODE_EXTRA_CA_CERTS pointing at the bundle, so npm trusts whatever this machine trusts
#     (e.g. a TLS-intercepting egress proxy);
# imported with `docker import` as NODE_BASE_IMAGE (default node:20-bookworm-slim).
#
# Needs root (debootstrap, chroot), a running Docker engine, debootstrap, and Node 20 with npm
# on this machine (the node major version must match the image tag). Leaves no temporary
# files behind, also when it fails.
set -euo pipefail

IMAGE="${NODE_BASE_IMAGE:-node:20-bookworm-slim}"
SUITE="${DEBIAN_SUITE:-bookworm}"
FORCE="${FORCE:-0}"

log() { printf 'make-node-base-image: %s\n' "$*" >&2; }
die() {
  printf 'make-node-base-image: error: %s\n' "$*" >&2
  exit 1
}

for arg in "$@"; do
  case "$arg" in
    -f | --force) FORCE=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg (use --force or --help)" ;;
  esac
done

# ---- checks (cheap ones first, so a wrong machine fails in a second) ----
command -v docker >/dev/null 2>&1 || die "docker not found (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "cannot reach the Docker engine (is dockerd running? are you root or in the docker group?)"

if [[ "$FORCE" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE already exists ($(docker image inspect -f '{{.Id}}' "$IMAGE" | cut -c1-19)); skipping (--force rebuilds it)"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "must run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found (Debian: apt-get install debootstrap)"
command -v node >/dev/null 2>&1 || die "node not found on this machine"
command -v npm >/dev/null 2>&1 || die "npm not found on this machine"

NODE_BIN="$(node -p 'process.execPath')"
NODE_VERSION="$(node -p 'process.versions.node')"
NODE_MAJOR="${NODE_VERSION%%.*}"
if [[ "$IMAGE" =~ ^node:([0-9]+) ]] && [[ "${BASH_REMATCH[1]}" != "$NODE_MAJOR" ]]; then
  die "this machine has node $NODE_VERSION but the image is $IMAGE (set NODE_BASE_IMAGE to match)"
fi

NPM_ROOT="$(npm root -g)"
NPM_DIR="$NPM_ROOT/npm"
[[ -f "$NPM_DIR/bin/npm-cli.js" ]] || die "npm not found at $NPM_DIR (from 'npm root -g')"
COREPACK_DIR="$NPM_ROOT/corepack"

# Node's headers, as node-gyp wants them under <nodedir>/include/node: next to the binary's
# prefix (official tarballs and NodeSource: /usr/include/node for /usr/bin/node), else the
# usual places, else where npm's nodedir points.
NODE_PREFIX="$(dirname "$(dirname "$NODE_BIN")")"
has_headers() { [[ -f "$1/node_version.h" && -f "$1/common.gypi" ]]; }
HEADERS=""
for dir in "$NODE_PREFIX/include/node" /usr/include/node /usr/local/include/node; do
  if has_headers "$dir"; then
    HEADERS="$dir"
    break
  fi
done
if [[ -z "$HEADERS" ]]; then
  dir="$(npm config get nodedir 2>/dev/null || true)/include/node"
  has_headers "$dir" && HEADERS="$dir"
fi
[[ -n "$HEADERS" ]] || die "no Node headers (node_version.h, common.gypi) found for $NODE_BIN; install them (NodeSource's nodejs ships /usr/include/node)"
header_version="$(awk '/#define NODE_(MAJOR|MINOR|PATCH)_VERSION/ { v = v (v ? "." : "") $3 } END { print v }' "$HEADERS/node_version.h")"
[[ "$header_version" == "$NODE_VERSION" ]] || die "headers in $HEADERS are for node $header_version, the binary is $NODE_VERSION"

# This machine's Debian mirror: the first URI serving the suite itself, in deb822 .sources
# files or one-line sources.list entries. DEBIAN_MIRROR overrides it.
find_mirror() {
  local suite="$1" f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    if [[ "$f" == *.sources ]]; then
      uri="$(awk -v suite="$suite" '
        function flush() { if (uri != "" && ok && !off) { print uri; done = 1; exit } uri = ""; ok = 0; off = 0 }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
        tolower($1) == "enabled:" && tolower($2) == "no" { off = 1 }
        END { if (!done) flush() }
      ' "$f")"
    else
      uri="$(sed -E 's/#.*//; s/\[[^]]*\]//' "$f" |
        awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2; exit }')"
    fi
    if [[ -n "$uri" ]]; then
      printf '%s\n' "$uri"
      return 0
    fi
  done
}
MIRROR="${DEBIAN_MIRROR:-$(find_mirror "$SUITE")}"
[[ -n "$MIRROR" ]] || die "no Debian mirror for $SUITE in /etc/apt/sources.list{,.d}; set DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-$(find_mirror "$SUITE-security")}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

# ---- work directory, removed on every exit (mounts a failed debootstrap left go first) ----
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/node-base-image.XXXXXX")"
cleanup() {
  # Deepest first; lazy so a busy mount cannot keep the directory.
  awk -v w="$WORK/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ROOTFS="$WORK/rootfs"

log "building $IMAGE: Debian $SUITE (minbase) from $MIRROR + node $NODE_VERSION from $NODE_BIN"
start=$SECONDS
if ! debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  tail -n 30 "$WORK/debootstrap.log" >&2
  [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (output above)"
fi
log "debootstrap done ($((SECONDS - start))s)"

# apt sources as the official Debian images have them; nothing cached in the image.
rm -f "$ROOTFS/etc/apt/sources.list"
cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/log/* "$ROOTFS"/tmp/*
# Docker supplies these at run time.
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"

# Node, npm (and corepack), headers: /usr/local, as the official image.
install -d "$ROOTFS/usr/local/bin" "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/include"
install -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
if [[ -f "$COREPACK_DIR/dist/corepack.js" ]]; then
  cp -a "$COREPACK_DIR" "$ROOTFS/usr/local/lib/node_modules/corepack"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$ROOTFS/usr/local/bin/corepack"
fi
cp -a "$HEADERS" "$ROOTFS/usr/local/include/node"
chown -R 0:0 "$ROOTFS/usr/local"

# This machine's CA certificates, dereferenced (so nothing points outside the image), and the
# local ones update-ca-certificates would add should ca-certificates be installed later.
install -d "$ROOTFS/etc/ssl" "$ROOTFS/usr/local/share/ca-certificates"
[[ -f /etc/ssl/certs/ca-certificates.crt ]] || die "no CA bundle at /etc/ssl/certs/ca-certificates.crt on this machine"
rm -rf "$ROOTFS/etc/ssl/certs"
cp -rL /etc/ssl/certs "$ROOTFS/etc/ssl/certs"
if [[ -d /usr/local/share/ca-certificates ]]; then
  cp -rL /usr/local/share/ca-certificates/. "$ROOTFS/usr/local/share/ca-certificates/"
fi

# The node user and group, uid/gid 1000 as in the official image.
chroot "$ROOTFS" groupadd --gid 1000 node
chroot "$ROOTFS" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# It must run before it is worth importing.
got="$(chroot "$ROOTFS" /usr/local/bin/node -p 'process.versions.node')" ||
  die "node does not run in the new root file system (missing libraries?)"
[[ "$got" == "$NODE_VERSION" ]] || die "node in the image reports $got, expected $NODE_VERSION"
chroot "$ROOTFS" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin HOME=/root npm --version >/dev/null ||
  die "npm does not run in the new root file system"
rm -rf "$ROOTFS/root/.npm" "$ROOTFS/root/.config"

log "importing as $IMAGE"
tar --numeric-owner --xattrs -C "$ROOTFS" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
  -cf - . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'ENV npm_config_nodedir=/usr/local' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'LABEL org.opencontainers.image.description="Debian '"$SUITE"' minbase + node '"$NODE_VERSION"', built locally by drover scripts/make-node-base-image.sh"' \
    --change 'CMD ["node"]' \
    --message "scripts/make-node-base-image.sh: debootstrap $SUITE from $MIRROR, node $NODE_VERSION" \
    - "$IMAGE" >/dev/null

docker run --rm "$IMAGE" node -e 'process.exit(process.versions.node === process.argv[1] ? 0 : 1)' "$NODE_VERSION" ||
  die "the imported image does not run node $NODE_VERSION"
log "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'), $((SECONDS - start))s)"
