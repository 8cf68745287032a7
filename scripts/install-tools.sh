#!/usr/bin/env bash
# Installs the system tools the test suite runs for real: Debian's prometheus (prometheus,
# promtool), prometheus-alertmanager (prometheus-alertmanager, amtool), chromium (renders
# the HTML reports headless), curl (runs docs/producers.md's examples) and docker-compose
# (checks deploy/compose.yaml with `docker-compose config`; no engine needed), with a font so that the reports' text renders as text. A no-op
# when they are already there. Never leaves a packaged daemon running: the packages' init
# scripts would otherwise start Prometheus on :9090 and Alertmanager on :9093.
set -euo pipefail

PACKAGES=(prometheus prometheus-alertmanager chromium fonts-dejavu-core curl docker-compose openssl)
POLICY=/usr/sbin/policy-rc.d
# Debian names the Alertmanager binary prometheus-alertmanager; upstream names it alertmanager.
ALERTMANAGER_NAMES=(alertmanager prometheus-alertmanager)

die() {
    echo "install-tools: $*" >&2
    exit 1
}

alertmanager_binary() {
    local name
    for name in "${ALERTMANAGER_NAMES[@]}"; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

tools_present() {
    command -v prometheus >/dev/null 2>&1 &&
        command -v promtool >/dev/null 2>&1 &&
        command -v amtool >/dev/null 2>&1 &&
        alertmanager_binary >/dev/null &&
        command -v chromium >/dev/null 2>&1 &&
        command -v curl >/dev/null 2>&1 &&
        command -v openssl >/dev/null 2>&1 &&
        command -v docker-compose >/dev/null 2>&1 &&
        font_present
}

# Chromium draws text as empty boxes without a font. With --no-install-recommends its own
# font (fonts-liberation) is left out; fontconfig accepts any of several, so name one.
font_present() {
    compgen -G '/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf' >/dev/null
}

# The packaged daemons run as the system user "prometheus"; the suite's own servers run as
# the invoking user, so this never touches a test's Prometheus.
packaged_daemon_pids() {
    id prometheus >/dev/null 2>&1 || return 0
    # ps exits 1 when the user has no processes: that is the answer we hope for.
    { ps -u prometheus -o pid=,comm= 2>/dev/null || true; } |
        awk '$2 ~ /^(prometheus|prometheus-aler|alertmanager|prometheus-node)/ { print $1 }'
}

# Stops the packaged daemons that were not running before the install ($1: their pids then),
# so that a daemon someone runs on purpose survives.
stop_new_daemons() {
    local before=" ${1//$'\n'/ } " pid new=() alive=() _
    for pid in $(packaged_daemon_pids); do
        [[ $before == *" $pid "* ]] || new+=("$pid")
    done
    [[ ${#new[@]} -eq 0 ]] && return 0
    echo "install-tools: stopping daemons the install started: ${new[*]}" >&2
    "${SUDO[@]}" kill "${new[@]}" 2>/dev/null || true
    for _ in {1..50}; do
        alive=()
        for pid in "${new[@]}"; do
            ps -p "$pid" >/dev/null && alive+=("$pid")
        done
        [[ ${#alive[@]} -eq 0 ]] && return 0
        sleep 0.1
    done
    echo "install-tools: daemons ignored SIGTERM, killing: ${alive[*]}" >&2
    "${SUDO[@]}" kill -KILL "${alive[@]}" 2>/dev/null || true
}

report_versions() {
    local am
    am=$(alertmanager_binary)
    # Debian's chromium launcher can print a shell error about /dev/shm to stderr; the
    # version is on stdout.
    printf 'install-tools: %s; %s; %s; %s; %s\n' \
        "$(prometheus --version 2>&1 | head -1)" \
        "$(promtool --version 2>&1 | head -1)" \
        "$("$am" --version 2>&1 | head -1)" \
        "$(amtool --version 2>&1 | head -1)" \
        "$(chromium --version 2>/dev/null | head -1)"
}

if tools_present; then
    report_versions
    exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found: install Prometheus 2.42+ (prometheus, promtool), Alertmanager (alertmanager, amtool) and Chromium (chromium) by hand"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
        die "not root and sudo not found: as root, run 'apt-get install --no-install-recommends ${PACKAGES[*]}'"
    SUDO=(sudo)
fi

# policy-rc.d exiting 101 tells invoke-rc.d not to start services, which the packages'
# postinst scripts otherwise do through their init scripts when systemd isn't running.
created_policy=0
restore_policy() {
    if [[ $created_policy -eq 1 ]]; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap restore_policy EXIT
if [[ ! -e $POLICY ]]; then
    printf '#!/bin/sh\n# Written by golive scripts/install-tools.sh for the install only.\nexit 101\n' |
        "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    created_policy=1
fi

daemons_before=$(packaged_daemon_pids)
log=$(mktemp)
if ! {
    "${SUDO[@]}" apt-get update -qq &&
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
} >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    die "apt-get install ${PACKAGES[*]} failed (output above)"
fi
rm -f "$log"

restore_policy
created_policy=0

stop_new_daemons "$daemons_before"

tools_present || die "installed ${PACKAGES[*]} but prometheus, promtool, alertmanager, amtool, chromium or the DejaVu fonts are still missing"
report_versions
