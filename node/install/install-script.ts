// The one-line install (issue 6): `curl -fsSL http://NODE/install.sh | sh -s -- TOKEN` (pure: no
// I/O). Every node renders install.sh with its own URL and its executable's sha256 baked in; the
// script downloads that executable from the same node, checks it, installs it, prepares the
// machine (ffmpeg, a system user, the data directory), joins with `ottmesh join --join-only` and
// runs the node with `ottmesh start` under systemd (or detached where systemd is not PID 1).
// docs/install.md walks through it step by step.

/** Exit codes of install.sh (docs/install.md, "Troubleshooting"). */
export const installExitCodes = {
  failed: 1,
  usage: 2,
  notRoot: 3,
  unsupportedPlatform: 4,
  download: 5,
  join: 6,
  notHealthy: 7,
} as const;

/** How long install.sh waits for the started node to answer GET /api/v1/health. */
export const healthWaitS = 90;

/** A Host header we can put into a URL and a shell script: a DNS name (labels of letters,
 *  digits, '-' and '_', as container names have), an IPv4 address, or an IPv6 address in
 *  brackets, with an optional port. Nothing else (quotes, spaces, '$', '/' ...) gets through. */
const hostHeaderPattern = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

/** The base URL (`http://host[:port]`) a client reached us at, from the request's protocol and
 *  Host header; null when the Host header is missing or not a plain host[:port]. */
export function installBaseUrl(protocol: string, hostHeader: string | undefined): string | null {
  if (protocol !== 'http' && protocol !== 'https') return null;
  if (hostHeader === undefined || hostHeader.length > 260) return null;
  const match = hostHeaderPattern.exec(hostHeader);
  if (match === null) return null;
  if (match[1] !== undefined && Number(match[1]) > 65535) return null;
  return `${protocol}://${hostHeader.toLowerCase()}`;
}

/** What to tell a client whose Host header installBaseUrl refused. */
export const badHostMessage = 'the Host header must be a plain host name or address with an optional port (e.g. 10.0.0.5:8080): ask for this URL by the address other servers reach this node at';

/** The host part of a base URL installBaseUrl made, without brackets (the address install.sh
 *  routes towards to pick this server's own address). */
export function baseUrlHost(baseUrl: string): string {
  const hostPort = baseUrl.replace(/^[a-z]+:\/\//, '');
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  return hostPort.replace(/:\d+$/, '');
}

/** The line an operator runs on a new server. */
export function installCommand(baseUrl: string, token: string): string {
  return `curl -fsSL ${baseUrl}/install.sh | sh -s -- ${token}`;
}

export interface InstallScriptInit {
  /** The node's base URL, as installBaseUrl made it (validated: no quoting needed). */
  readonly baseUrl: string;
  /** The sha256 (hex) of the executable GET /download/ottmesh serves. */
  readonly sha256: string;
}

/** install.sh for a node that has an executable to serve. */
export function renderInstallScript(init: InstallScriptInit): string {
  if (!/^[0-9a-f]{64}$/.test(init.sha256)) throw new Error(`renderInstallScript: sha256 must be 64 lowercase hex digits, got ${init.sha256}`);
  const parts = /^([a-z]+):\/\/(.*)$/.exec(init.baseUrl);
  if (parts === null || installBaseUrl(parts[1]!, parts[2]) !== init.baseUrl) throw new Error(`renderInstallScript: ${init.baseUrl} is not a base URL installBaseUrl made`);
  const head = [
    '#!/bin/sh',
    `# ottmesh installer, served by the ottmesh node at ${init.baseUrl}`,
    `# usage: curl -fsSL ${init.baseUrl}/install.sh | sh -s -- TOKEN [options]   (--help lists them)`,
    'set -eu',
    '',
    `OTTMESH_URL='${init.baseUrl}'`,
    `OTTMESH_URL_HOST='${baseUrlHost(init.baseUrl)}'`,
    `OTTMESH_SHA256='${init.sha256}'`,
    `HEALTH_WAIT_S=${healthWaitS}`,
    `EXIT_FAILED=${installExitCodes.failed}`,
    `EXIT_USAGE=${installExitCodes.usage}`,
    `EXIT_NOT_ROOT=${installExitCodes.notRoot}`,
    `EXIT_PLATFORM=${installExitCodes.unsupportedPlatform}`,
    `EXIT_DOWNLOAD=${installExitCodes.download}`,
    `EXIT_JOIN=${installExitCodes.join}`,
    `EXIT_HEALTH=${installExitCodes.notHealthy}`,
  ];
  return `${head.join('\n')}\n${scriptBody}`;
}

/** install.sh for a node with no executable to serve: `curl -f | sh` would otherwise run an
 *  empty script and say nothing, so this one says what to do and fails. */
export function renderUnavailableScript(reason: string): string {
  const quoted = reason.replaceAll("'", "'\\''");
  return [
    '#!/bin/sh',
    '# ottmesh installer: this node has no executable to install',
    `printf 'ottmesh-install: error: %s\\n' '${quoted}' >&2`,
    `exit ${installExitCodes.download}`,
    '',
  ].join('\n');
}

// The script proper. POSIX sh (dash, busybox, bash). It is all functions, run by the last line,
// so a download cut short runs nothing. Values from the command line reach commands only as
// quoted arguments; the paths and the user name that go into the systemd unit are checked
// against a plain character set first. (A raw template literal: shell's '${' is written '\${'
// and unescaped below; every other backslash is the script's own.)
const scriptBody = String.raw`
say() { printf 'ottmesh-install: %s\n' "$*"; }
die() {
  code=$1
  shift
  printf 'ottmesh-install: error: %s\n' "$*" >&2
  exit "$code"
}
usage_error() { die "$EXIT_USAGE" "$* (run with --help for the usage)"; }

usage() {
  cat <<EOF
usage: curl -fsSL $OTTMESH_URL/install.sh | sh -s -- TOKEN [options]

Installs ottmesh from the node at $OTTMESH_URL and joins this server to its cluster:
downloads the executable (checking its sha256), installs ffmpeg when missing, creates a
system user and the data directory, and runs the node as a systemd service, whose first
start joins the cluster with TOKEN ('ottmesh token create --install' on a node of the cluster
prints the whole line). Running it again over an installation updates it and restarts the node.

options:
  --data-dir DIR    the node's data directory (default /var/lib/ottmesh)
  --bin-dir DIR     where the ottmesh executable goes (default /usr/local/bin)
  --user NAME       the system user the node runs as, created when missing (default ottmesh)
  --name NAME       the node's name in the cluster (default: the host name)
  --host ADDR       the address to listen on and advertise (default: this server's address
                    on the route to $OTTMESH_URL_HOST)
  --p2p-port N      cluster traffic port (default 7600)
  --http-port N     HTTP API, dashboard and HLS port (default 8080)
  --no-service      install, but start nothing: 'ottmesh start' joins on its first run

exit codes: 1 failed (see the message), 2 bad usage, 3 not root and no sudo,
4 unsupported OS or architecture, 5 download or checksum failed, 6 the join failed,
7 the node did not come up.
EOF
}

parse_args() {
  TOKEN=''
  BIN_DIR=/usr/local/bin
  DATA_DIR=/var/lib/ottmesh
  SERVICE_USER=ottmesh
  NODE_NAME=''
  NODE_HOST=''
  P2P_PORT=''
  HTTP_PORT=''
  NO_SERVICE=0
  while [ $# -gt 0 ]; do
    case $1 in
      --data-dir|--bin-dir|--user|--name|--host|--p2p-port|--http-port)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        set_option "$1" "$2"
        shift 2
        ;;
      --data-dir=*|--bin-dir=*|--user=*|--name=*|--host=*|--p2p-port=*|--http-port=*)
        set_option "\${1%%=*}" "\${1#*=}"
        shift
        ;;
      --no-service) NO_SERVICE=1; shift ;;
      -h|--help) usage; exit 0 ;;
      -*) usage_error "unknown option $1" ;;
      *)
        [ -z "$TOKEN" ] || usage_error "unexpected argument $1: give one TOKEN, then options"
        TOKEN=$1
        shift
        ;;
    esac
  done
  [ -n "$TOKEN" ] || usage_error "a join token is needed: run 'ottmesh token create --install' on a node of the cluster and run the line it prints"
  case $TOKEN in
    *[!A-Za-z0-9_=-]*) usage_error "the token must be the one 'ottmesh token create' printed (letters, digits, '-' and '_')" ;;
  esac
  check_path --bin-dir "$BIN_DIR"
  check_path --data-dir "$DATA_DIR"
  case $DATA_DIR in
    /) usage_error "--data-dir / is not a data directory: give e.g. /var/lib/ottmesh" ;;
  esac
  case $SERVICE_USER in
    ''|[!a-z_]*|*[!a-z0-9_-]*) usage_error "--user $SERVICE_USER is not a valid user name: lowercase letters, digits, '_' and '-', starting with a letter or '_'" ;;
  esac
  [ \${#SERVICE_USER} -le 32 ] || usage_error "--user $SERVICE_USER is longer than 32 characters"
  case $NODE_NAME in
    ''|[A-Za-z0-9]*) ;;
    *) usage_error "--name $NODE_NAME must start with a letter or a digit" ;;
  esac
  case $NODE_NAME in
    *[!A-Za-z0-9._-]*) usage_error "--name $NODE_NAME may hold only letters, digits, '.', '_' and '-'" ;;
  esac
  [ \${#NODE_NAME} -le 63 ] || usage_error "--name $NODE_NAME is longer than 63 characters"
  case $NODE_HOST in
    *[!A-Za-z0-9.:_-]*) usage_error "--host $NODE_HOST is not a host name or address" ;;
  esac
  check_port --p2p-port "$P2P_PORT"
  check_port --http-port "$HTTP_PORT"
}

set_option() {
  case $1 in
    --data-dir) DATA_DIR=$2 ;;
    --bin-dir) BIN_DIR=$2 ;;
    --user) SERVICE_USER=$2 ;;
    --name) NODE_NAME=$2 ;;
    --host) NODE_HOST=$2 ;;
    --p2p-port) P2P_PORT=$2 ;;
    --http-port) HTTP_PORT=$2 ;;
  esac
}

# Paths go into the systemd unit and a shell command line: absolute, plain characters only.
check_path() {
  case $2 in
    /*) ;;
    *) usage_error "$1 $2 must be an absolute path" ;;
  esac
  case $2 in
    *[!A-Za-z0-9/._-]*) usage_error "$1 $2 may hold only letters, digits, '/', '.', '_' and '-'" ;;
  esac
}

check_port() {
  [ -n "$2" ] || return 0
  case $2 in
    *[!0-9]*) usage_error "$1 $2 is not a port: use 1-65535" ;;
  esac
  if [ \${#2} -gt 5 ] || [ "$2" -gt 65535 ]; then usage_error "$1 $2 is not a port: use 1-65535"; fi
}

check_platform() {
  kernel=$(uname -s)
  machine=$(uname -m)
  [ "$kernel" = Linux ] || die "$EXIT_PLATFORM" "this is $kernel: ottmesh installs on Linux x86_64 only"
  case $machine in
    x86_64|amd64) ;;
    *) die "$EXIT_PLATFORM" "this machine is $machine: the ottmesh executable is built for x86_64 (amd64) only" ;;
  esac
  # OTTMESH_INSTALL_OS_RELEASE: another os-release file, for tests.
  os_release=\${OTTMESH_INSTALL_OS_RELEASE:-/etc/os-release}
  supported='Debian 10+, Ubuntu 20.04+, Fedora, RHEL/Rocky/AlmaLinux/CentOS Stream 8+ or Arch Linux (x86_64)'
  [ -r "$os_release" ] || die "$EXIT_PLATFORM" "$os_release is missing, so this Linux distribution is unknown: ottmesh installs on $supported"
  os_id=$(os_field ID)
  os_like=$(os_field ID_LIKE)
  os_name=$(os_field PRETTY_NAME)
  [ -n "$os_name" ] || os_name=$os_id
  OS_FAMILY=''
  for id in $os_id $os_like; do
    case $id in
      alpine) die "$EXIT_PLATFORM" "$os_name uses musl libc, and the ottmesh executable needs glibc: install on $supported" ;;
      debian|ubuntu) OS_FAMILY=debian ;;
      fedora|rhel|centos|rocky|almalinux) OS_FAMILY=redhat ;;
      arch) OS_FAMILY=arch ;;
    esac
    [ -z "$OS_FAMILY" ] || break
  done
  [ -n "$OS_FAMILY" ] || die "$EXIT_PLATFORM" "$os_name is not supported: ottmesh installs on $supported"
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null || true)
  case $glibc in
    'glibc '*) ;;
    *) die "$EXIT_PLATFORM" "this system has no glibc (getconf GNU_LIBC_VERSION says '$glibc'), which the ottmesh executable needs: install on $supported" ;;
  esac
  glibc_ok=$(printf '%s\n' "$glibc" | awk '{ split($2, v, "."); print ((v[1] > 2 || (v[1] == 2 && v[2] >= 28)) ? "yes" : "no") }')
  [ "$glibc_ok" = yes ] || die "$EXIT_PLATFORM" "$os_name has $glibc; the ottmesh executable needs glibc 2.28 or newer: install on $supported"
  say "platform: $os_name, $machine, $glibc"
}

os_field() { sed -n "s/^$1=//p" "$os_release" | head -n 1 | tr -d "\"'"; }

pick_downloader() {
  if command -v curl >/dev/null 2>&1; then
    DOWNLOADER=curl
  elif command -v wget >/dev/null 2>&1; then
    DOWNLOADER=wget
  else
    die "$EXIT_FAILED" "neither curl nor wget is installed: install curl and run this again"
  fi
}

# download URL FILE
download() {
  if [ "$DOWNLOADER" = curl ]; then
    curl -fsSL --retry 3 -o "$2" "$1"
  else
    wget -q -O "$2" "$1"
  fi
}

# http_ok URL: does URL answer 2xx within 2 s?
http_ok() {
  if [ "$DOWNLOADER" = curl ]; then
    curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null
  else
    wget -q -T 2 -t 1 -O /dev/null "$1" 2>/dev/null
  fi
}

# Not root: run this script again through sudo (fetched again from the node: piped into sh,
# this copy has no file to re-run), else stop with exit code 3.
ensure_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || die "$EXIT_NOT_ROOT" "run as root or install sudo: installing ottmesh creates a system user, a service and files under /usr/local and /var/lib"
  say "not root: running the installer again through sudo"
  if [ "$DOWNLOADER" = curl ]; then
    curl -fsSL "$OTTMESH_URL/install.sh" | sudo -- sh -s -- "$@" && exit 0
  else
    wget -q -O - "$OTTMESH_URL/install.sh" | sudo -- sh -s -- "$@" && exit 0
  fi
  exit $?
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    die "$EXIT_FAILED" "no sha256sum, shasum or openssl to check the download with: install coreutils and run this again"
  fi
}

# Download into BIN_DIR (same file system: the final mv is atomic), check, run, then move.
install_executable() {
  OTTMESH_BIN=$BIN_DIR/ottmesh
  mkdir -p "$BIN_DIR" || die "$EXIT_FAILED" "cannot create $BIN_DIR: pass another --bin-dir"
  if [ -f "$OTTMESH_BIN" ] && [ "$(sha256_of "$OTTMESH_BIN")" = "$OTTMESH_SHA256" ]; then
    say "$OTTMESH_BIN is already the executable $OTTMESH_URL serves"
  else
    TMP_FILE=$(mktemp "$BIN_DIR/.ottmesh.XXXXXX") || die "$EXIT_FAILED" "cannot write to $BIN_DIR: pass another --bin-dir"
    say "downloading $OTTMESH_URL/download/ottmesh"
    download "$OTTMESH_URL/download/ottmesh" "$TMP_FILE" || die "$EXIT_DOWNLOAD" "could not download $OTTMESH_URL/download/ottmesh: check that this server reaches $OTTMESH_URL, and run this again"
    got=$(sha256_of "$TMP_FILE")
    [ "$got" = "$OTTMESH_SHA256" ] || die "$EXIT_DOWNLOAD" "the download's sha256 is $got, not $OTTMESH_SHA256: it was damaged on the way or the node's executable changed meanwhile; nothing was installed: run the install command again"
    chmod 0755 "$TMP_FILE"
    version=$("$TMP_FILE" --version 2>&1) || die "$EXIT_DOWNLOAD" "the downloaded executable does not run here: $version"
    mv -f "$TMP_FILE" "$OTTMESH_BIN"
    TMP_FILE=''
  fi
  version=$("$OTTMESH_BIN" --version 2>&1) || die "$EXIT_FAILED" "$OTTMESH_BIN does not run: $version"
  say "installed $OTTMESH_BIN: $version"
}

ensure_ffmpeg() {
  if command -v ffmpeg >/dev/null 2>&1; then
    say "ffmpeg: $(command -v ffmpeg)"
    return 0
  fi
  case $OS_FAMILY in
    debian)
      say "installing ffmpeg with apt-get"
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ffmpeg; } ||
        die "$EXIT_FAILED" "apt-get could not install ffmpeg: fix the package sources (apt-get update), or install ffmpeg yourself, and run this again"
      ;;
    redhat)
      if command -v dnf >/dev/null 2>&1; then pm=dnf; else pm=yum; fi
      say "installing ffmpeg with $pm"
      { $pm install -y ffmpeg || $pm install -y ffmpeg-free; } ||
        die "$EXIT_FAILED" "$pm could not install ffmpeg: on RHEL, Rocky and AlmaLinux enable EPEL and RPM Fusion (free) first; or install ffmpeg yourself; then run this again"
      ;;
    arch)
      say "installing ffmpeg with pacman"
      pacman -S --needed --noconfirm ffmpeg ||
        die "$EXIT_FAILED" "pacman could not install ffmpeg: run 'pacman -Syu ffmpeg', then this again"
      ;;
  esac
  command -v ffmpeg >/dev/null 2>&1 || die "$EXIT_FAILED" "ffmpeg is still not on the PATH after installing it: install it yourself and run this again"
  say "ffmpeg: $(command -v ffmpeg)"
}

nologin_shell() {
  for shell in /usr/sbin/nologin /sbin/nologin /usr/bin/nologin; do
    [ -x "$shell" ] && { printf '%s\n' "$shell"; return 0; }
  done
  printf '/bin/false\n'
}

ensure_user() {
  if [ "$SERVICE_USER" = root ]; then
    SERVICE_GROUP=root
    return 0
  fi
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    say "system user $SERVICE_USER exists"
  else
    shell=$(nologin_shell)
    if command -v useradd >/dev/null 2>&1; then
      useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell "$shell" "$SERVICE_USER" ||
        die "$EXIT_FAILED" "useradd could not create the system user $SERVICE_USER: create it yourself or pass --user NAME of an existing one"
    elif command -v adduser >/dev/null 2>&1; then
      adduser -S -D -H -h "$DATA_DIR" -s "$shell" "$SERVICE_USER" ||
        die "$EXIT_FAILED" "adduser could not create the system user $SERVICE_USER: create it yourself or pass --user NAME of an existing one"
    else
      die "$EXIT_FAILED" "neither useradd nor adduser is installed: create a system user $SERVICE_USER yourself, or pass --user NAME of an existing one"
    fi
    say "created system user $SERVICE_USER"
  fi
  SERVICE_GROUP=$(id -gn "$SERVICE_USER")
}

# config_field NAME: a top-level string or number of DATA_DIR/config.json (written by ottmesh
# with two-space indentation: nested objects sit deeper and do not match).
config_field() {
  sed -n "s/^  \"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$DATA_DIR/config.json" | head -n 1
}

# Sets JOINED=1 when DATA_DIR already holds a node; refuses a directory holding something else
# than what an earlier run of this script left (its log, pid file and join request).
prepare_data_dir() {
  JOINED=0
  if [ -f "$DATA_DIR/config.json" ]; then
    JOINED=1
    rm -f "$DATA_DIR/join.json"
    say "$DATA_DIR already holds node $(config_field name) of cluster $(config_field clusterId): not joining again (the token is not used)"
  elif [ -d "$DATA_DIR" ]; then
    for entry in "$DATA_DIR"/* "$DATA_DIR"/.[!.]* "$DATA_DIR"/..?*; do
      [ -e "$entry" ] || continue
      case $entry in
        "$DATA_DIR/ottmesh.log"|"$DATA_DIR/ottmesh.pid"|"$DATA_DIR/join.json"|"$DATA_DIR/bin") continue ;;
      esac
      die "$EXIT_FAILED" "$DATA_DIR holds files but no ottmesh node (no config.json): if an earlier install was cut short, remove it (rm -rf $DATA_DIR) and run this again; else pass another --data-dir"
    done
  fi
  mkdir -p "$DATA_DIR" || die "$EXIT_FAILED" "cannot create $DATA_DIR: pass another --data-dir"
  chown -R "$SERVICE_USER:$SERVICE_GROUP" "$DATA_DIR"
  chmod 0700 "$DATA_DIR"
}

# The executable the node runs. A node replaces its own executable in a rolling upgrade
# (docs/upgrade.md), so its user must own the directory holding it: root's BIN_DIR/ottmesh (the
# command operators run) stays root's, and a service user gets its own copy in DATA_DIR/bin.
install_node_executable() {
  if [ "$SERVICE_USER" = root ]; then
    NODE_BIN=$OTTMESH_BIN
    return 0
  fi
  NODE_BIN=$DATA_DIR/bin/ottmesh
  mkdir -p "$DATA_DIR/bin"
  chown "$SERVICE_USER:$SERVICE_GROUP" "$DATA_DIR/bin"
  chmod 0755 "$DATA_DIR/bin"
  if [ -f "$NODE_BIN" ] && [ "$(sha256_of "$NODE_BIN")" = "$OTTMESH_SHA256" ]; then
    return 0
  fi
  TMP_FILE=$(mktemp "$DATA_DIR/bin/.ottmesh.XXXXXX")
  cp "$OTTMESH_BIN" "$TMP_FILE"
  chown "$SERVICE_USER:$SERVICE_GROUP" "$TMP_FILE"
  chmod 0755 "$TMP_FILE"
  mv -f "$TMP_FILE" "$NODE_BIN"
  TMP_FILE=''
  say "the node runs $NODE_BIN, a copy its user $SERVICE_USER may replace in a rolling upgrade"
}

# as_service_user CODE: shell code run by sh as SERVICE_USER, with runuser (util-linux) or su.
# CODE holds only checked paths (check_path), so it needs no quoting.
as_service_user() {
  if [ "$SERVICE_USER" = root ] || [ "$(id -un)" = "$SERVICE_USER" ]; then
    sh -c "$1"
  elif command -v runuser >/dev/null 2>&1; then
    runuser -u "$SERVICE_USER" -- sh -c "$1"
  else
    su -s /bin/sh -c "$1" "$SERVICE_USER"
  fi
}

# The node runs as SERVICE_USER: it must reach the executable and own the data directory (a
# parent directory closed to it, e.g. mode 0700, would only show once the service fails).
check_user_access() {
  as_service_user "test -x $NODE_BIN && test -w $DATA_DIR && test -x $DATA_DIR" ||
    die "$EXIT_FAILED" "the user $SERVICE_USER cannot run $NODE_BIN or write $DATA_DIR (is a parent directory closed to it?): open the parent directories (chmod o+x) or pass other --bin-dir/--data-dir"
}

# This server's address as the cluster sees it: the source address of the route to the node
# the script came from (a LAN address where a cluster runs on a LAN).
default_host() {
  addr=$OTTMESH_URL_HOST
  case $addr in
    *[!0-9.:A-Fa-f]*) addr=$(getent ahosts "$addr" 2>/dev/null | awk 'NR == 1 { print $1 }') || addr='' ;;
  esac
  src=''
  if [ -n "$addr" ] && command -v ip >/dev/null 2>&1; then
    src=$(ip route get "$addr" 2>/dev/null | sed -n 's/.* src \([^ ]*\).*/\1/p' | head -n 1)
  fi
  if [ -z "$src" ] && command -v hostname >/dev/null 2>&1; then
    src=$(hostname -I 2>/dev/null | awk '{ print $1 }') || src=''
  fi
  [ -n "$src" ] || die "$EXIT_USAGE" "cannot tell this server's address: pass --host ADDR (the address the cluster's other nodes reach this server at)"
  printf '%s\n' "$src"
}

# The join is left to the node's first 'ottmesh start' (DATA_DIR/join.json, mode 0600: it holds
# the token), so the process that joins the cluster is the one that goes on running the node.
# Every value was checked against a plain character set (parse_args): no JSON escaping needed.
write_join_request() {
  [ -n "$NODE_HOST" ] || NODE_HOST=$(default_host)
  args="\"--host\", \"$NODE_HOST\""
  [ -z "$NODE_NAME" ] || args="$args, \"--name\", \"$NODE_NAME\""
  [ -z "$P2P_PORT" ] || args="$args, \"--p2p-port\", \"$P2P_PORT\""
  [ -z "$HTTP_PORT" ] || args="$args, \"--http-port\", \"$HTTP_PORT\""
  TMP_FILE=$(mktemp "$DATA_DIR/.join.json.XXXXXX")
  printf '{"version": 1, "token": "%s", "args": [%s]}\n' "$TOKEN" "$args" >"$TMP_FILE"
  chown "$SERVICE_USER:$SERVICE_GROUP" "$TMP_FILE"
  chmod 0600 "$TMP_FILE"
  mv -f "$TMP_FILE" "$DATA_DIR/join.json"
  TMP_FILE=''
  say "wrote $DATA_DIR/join.json: the node joins the cluster of $OTTMESH_URL when it first starts (it listens on and advertises $NODE_HOST)"
}

# wait_joined: until the node's first start has joined (config.json written). The node removes
# join.json after its one attempt: gone without a config.json, the join failed.
wait_joined() {
  waited=0
  until [ -f "$DATA_DIR/config.json" ]; do
    if [ ! -f "$DATA_DIR/join.json" ] && [ ! -f "$DATA_DIR/config.json" ]; then
      stop_node
      die "$EXIT_JOIN" "the join failed (the node's log above says why): if the token expired or was used up, make a new one with 'ottmesh token create --install' on a node of the cluster; check that this server and the cluster reach each other; then run the install command again"
    fi
    if [ -n "$NODE_PID" ] && ! process_alive "$NODE_PID"; then
      stop_node
      die "$EXIT_HEALTH" "the node exited before joining (its log above says why): fix what it says, then run the install command again"
    fi
    if [ "$waited" -ge "$HEALTH_WAIT_S" ]; then
      stop_node
      die "$EXIT_JOIN" "the node has not joined the cluster within $HEALTH_WAIT_S s (its log above says what it tried): check that this server and the cluster reach each other, then run the install command again"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "joined cluster $(config_field clusterId) as $(config_field name)"
}

# After a failure: the node's last log lines, and no service left restarting a node that cannot run.
stop_node() {
  if [ -n "$NODE_PID" ]; then
    tail -n 20 "$DATA_DIR/ottmesh.log" >&2 || true
    ! process_alive "$NODE_PID" || kill "$NODE_PID" 2>/dev/null || true
    rm -f "$DATA_DIR/ottmesh.pid"
  else
    journalctl -u ottmesh.service -n 20 --no-pager >&2 2>/dev/null || true
    systemctl disable --now ottmesh.service >/dev/null 2>&1 || true
    say "stopped and disabled the service ottmesh"
  fi
}

# The local URL of the node's health check, from its config.
health_url() {
  host=$(config_field host)
  port=$(config_field httpPort)
  case $host in
    0.0.0.0|'') host=127.0.0.1 ;;
    ::) host='[::1]' ;;
    *:*) host="[$host]" ;;
  esac
  printf 'http://%s:%s/api/v1/health\n' "$host" "$port"
}

# wait_healthy: until the node answers its health check.
wait_healthy() {
  url=$(health_url)
  waited=0
  while ! http_ok "$url"; do
    if [ -n "$NODE_PID" ] && ! process_alive "$NODE_PID"; then
      stop_node
      die "$EXIT_HEALTH" "the node exited right after starting (its last log lines are above): fix what they say, then run the install command again"
    fi
    [ "$waited" -lt "$HEALTH_WAIT_S" ] || die "$EXIT_HEALTH" "the node did not answer $url within $HEALTH_WAIT_S s: see $LOG_HINT"
    sleep 1
    waited=$((waited + 1))
  done
}

# node_port http|p2p: the node's port, from its config once joined, else as asked (or the default).
node_port() {
  if [ -f "$DATA_DIR/config.json" ]; then
    config_field "$1Port"
  elif [ "$1" = http ]; then
    printf '%s\n' "\${HTTP_PORT:-8080}"
  else
    printf '%s\n' "\${P2P_PORT:-7600}"
  fi
}

unit_text() {
  caps=''
  http_port=$(node_port http)
  p2p_port=$(node_port p2p)
  # Ports below 1024 need the capability to bind them (0 picks a free port: none needed).
  if [ "$SERVICE_USER" != root ] && { [ "$http_port" -gt 0 ] && [ "$http_port" -lt 1024 ] || { [ "$p2p_port" -gt 0 ] && [ "$p2p_port" -lt 1024 ]; }; }; then
    caps='AmbientCapabilities=CAP_NET_BIND_SERVICE'
  fi
  cat <<EOF
# Written by the ottmesh installer ($OTTMESH_URL/install.sh); running it again rewrites this file.
[Unit]
Description=ottmesh node (live IPTV stream processing cluster)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_GROUP
ExecStart=$NODE_BIN start --data-dir $DATA_DIR
Restart=always
RestartSec=1
LimitNOFILE=65536
# SIGTERM to ottmesh only: it stops its ffmpeg processes itself; the rest is killed after 30 s.
KillMode=mixed
TimeoutStopSec=30
$caps

[Install]
WantedBy=multi-user.target
EOF
}

# OTTMESH_INSTALL_SYSTEMD_UNIT_DIR: write the unit there and use systemd even when it is not
# PID 1 here (tests with a stand-in systemctl; image builds).
install_systemd_service() {
  unit_dir=$1
  unit=$unit_dir/ottmesh.service
  mkdir -p "$unit_dir"
  TMP_FILE=$(mktemp "$unit_dir/.ottmesh.service.XXXXXX")
  unit_text >"$TMP_FILE"
  chmod 0644 "$TMP_FILE"
  mv -f "$TMP_FILE" "$unit"
  TMP_FILE=''
  say "wrote $unit"
  systemctl daemon-reload || die "$EXIT_FAILED" "systemctl daemon-reload failed: see its message above"
  systemctl enable ottmesh.service || die "$EXIT_FAILED" "systemctl enable ottmesh failed: see its message above"
  systemctl restart ottmesh.service || die "$EXIT_HEALTH" "systemctl restart ottmesh failed: see 'systemctl status ottmesh' and 'journalctl -u ottmesh -n 50'"
  say "service ottmesh enabled and (re)started"
  NODE_PID=''
  LOG_HINT="'journalctl -u ottmesh -n 50'"
}

process_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  state=$(sed -n 's/^.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}

# Stops a node started detached by an earlier run (its pid file), when it still runs this data dir.
stop_detached() {
  pid_file=$DATA_DIR/ottmesh.pid
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  case $pid in
    ''|*[!0-9]*) rm -f "$pid_file"; return 0 ;;
  esac
  if process_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -F -e "--data-dir $DATA_DIR"; then
    say "stopping the node started earlier (pid $pid)"
    kill "$pid" 2>/dev/null || true
    waited=0
    while process_alive "$pid" && [ "$waited" -lt 30 ]; do
      sleep 1
      waited=$((waited + 1))
    done
    ! process_alive "$pid" || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

# No systemd (a container): start the node in its own session as the service user. The inner
# shell writes its pid, then becomes ottmesh (exec), so the pid file names the node itself.
start_detached() {
  stop_detached
  log=$DATA_DIR/ottmesh.log
  touch "$log"
  chown "$SERVICE_USER:$SERVICE_GROUP" "$log"
  chmod 0600 "$log"
  launch="echo \$\$ > $DATA_DIR/ottmesh.pid; exec $NODE_BIN start --data-dir $DATA_DIR"
  if command -v setsid >/dev/null 2>&1; then detach='setsid'; else detach='nohup'; fi
  # Simple commands put in the background (not a function, whose subshell would keep copies of
  # this script's stdout and stderr open for as long as the node runs); setsid before runuser or
  # su, so they too leave this session and no hangup reaches them.
  if [ "$SERVICE_USER" = root ] || [ "$(id -un)" = "$SERVICE_USER" ]; then
    $detach sh -c "$launch" >>"$log" 2>&1 </dev/null &
  elif command -v runuser >/dev/null 2>&1; then
    $detach runuser -u "$SERVICE_USER" -- sh -c "$launch" >>"$log" 2>&1 </dev/null &
  else
    $detach su -s /bin/sh -c "$launch" "$SERVICE_USER" >>"$log" 2>&1 </dev/null &
  fi
  waited=0
  until [ -s "$DATA_DIR/ottmesh.pid" ]; do
    [ "$waited" -lt 50 ] || die "$EXIT_HEALTH" "the node did not start: see $log"
    sleep 0.1 2>/dev/null || sleep 1
    waited=$((waited + 1))
  done
  NODE_PID=$(cat "$DATA_DIR/ottmesh.pid")
  LOG_HINT=$log
  say "systemd is not running here (a container?): no service was installed; the node runs detached as $SERVICE_USER (pid $NODE_PID, log $log) and will not start again after a reboot or a crash"
  say "to start it again: $detach $NODE_BIN start --data-dir $DATA_DIR >>$log 2>&1 &   (as $SERVICE_USER)"
}

run_node() {
  if [ "$NO_SERVICE" = 1 ]; then
    say "--no-service: no service installed, nothing started; run the node with: $NODE_BIN start --data-dir $DATA_DIR   (as $SERVICE_USER)"
    if [ "$JOINED" = 1 ]; then
      say "done: node $(config_field name) of cluster $(config_field clusterId) installed (not started)"
    else
      say "done: installed; the node joins the cluster on its first start (the token must still be valid then)"
    fi
    return 0
  fi
  unit_dir=\${OTTMESH_INSTALL_SYSTEMD_UNIT_DIR:-}
  if [ -n "$unit_dir" ]; then
    install_systemd_service "$unit_dir"
  elif [ -d /run/systemd/system ]; then
    install_systemd_service /etc/systemd/system
  else
    start_detached
  fi
  [ "$JOINED" = 1 ] || wait_joined
  wait_healthy
  say "done: node $(config_field name) joined cluster $(config_field clusterId)"
}

cleanup() {
  [ -z "$TMP_FILE" ] || rm -f "$TMP_FILE"
}

main() {
  TMP_FILE=''
  NODE_BIN=''
  NODE_PID=''
  LOG_HINT=''
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  parse_args "$@"
  check_platform
  pick_downloader
  ensure_root "$@"
  install_executable
  ensure_ffmpeg
  ensure_user
  prepare_data_dir
  install_node_executable
  check_user_access
  if [ "$JOINED" = 0 ]; then write_join_request; fi
  run_node
}

main "$@"
`.replaceAll('\\${', '${');
