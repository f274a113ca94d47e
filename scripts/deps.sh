#!/usr/bin/env bash
# deps.sh — installs the Debian packages promobot needs, only those missing (idempotent).
# usage: scripts/deps.sh run|test
set -euo pipefail

run_pkgs=(build-essential meson ninja-build pkg-config libwebsockets-dev libcurl4-openssl-dev libssl-dev libpq-dev
          libcjson-dev libsqlite3-dev ca-certificates tzdata python3)
test_pkgs=(libcriterion-dev valgrind docker.io busybox-static docker-registry curl sqlite3 podman runc
           prometheus clang libclang-rt-14-dev nodejs postgresql-15)

case "${1:-run}" in
run) want=("${run_pkgs[@]}") ;;
test) want=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
*) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "promobot: installing missing packages: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "promobot: need root or sudo to install ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# docker.io's postinst may try to start a service: there is none to start in a
# container, and the test script starts its own private dockerd anyway.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
