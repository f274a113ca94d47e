#!/bin/sh
# docker-env.sh — makes a Docker engine (and a local registry) available to the docker test suites.
#
#   scripts/docker-env.sh start        prints `export VAR=…` lines to eval; starts what is missing
#   scripts/docker-env.sh stop <dir>   stops what `start` started in <dir> and removes <dir>
#   scripts/docker-env.sh run CMD…     start, run CMD with the variables set, stop; exits with CMD's status
#
# Engine: $DOCKER_HOST when it answers /_ping, else a private dockerd (Debian docker.io) on a
# unix socket in a temporary directory (vfs storage, no bridge, no iptables).
# Registry: Debian's docker-registry on 127.0.0.1:<free port>, storage in the same directory.
# PROMOBOT_SKIP_DOCKER=1 disables the docker suites; this script then says so and starts nothing.
set -u

log() { echo "docker-env: $*" >&2; }
. "$(dirname "$0")/engine-lib.sh"

do_stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	[ -f "$dir/promobot-docker-env" ] || { log "refusing to clean $dir: not made by docker-env.sh"; return 1; }
	stop_pidfile "$dir/registry.pid"
	stop_pidfile "$dir/pid"
	# dockerd leaves mounts under its roots when killed: unmount before removing.
	grep -o " $dir/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$dir"
}

start_dockerd() {
	dir=$1
	command -v dockerd >/dev/null 2>&1 || { log "dockerd not found (install Debian's docker.io)"; return 1; }
	[ "$(id -u)" = 0 ] || { log "starting a private dockerd needs root"; return 1; }
	dockerd --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs \
		-H "unix://$dir/docker.sock" --data-root "$dir/root" --exec-root "$dir/exec" \
		--pidfile "$dir/pid" >"$dir/dockerd.log" 2>&1 &
	echo $! >"$dir/pid.start"
	if ! wait_for 60 ping_engine "unix://$dir/docker.sock"; then
		log "private dockerd did not answer /_ping within 60 s; last log lines:"
		tail -n 20 "$dir/dockerd.log" >&2
		return 1
	fi
	# dockerd writes its own pidfile once up; keep ours as a fallback for stop.
	[ -f "$dir/pid" ] || cp "$dir/pid.start" "$dir/pid"
	echo "unix://$dir/docker.sock"
}


do_start() {
	if [ "${PROMOBOT_SKIP_DOCKER:-}" = 1 ]; then
		log "PROMOBOT_SKIP_DOCKER=1: the docker suites are DISABLED (not run, not counted)"
		echo "export PROMOBOT_SKIP_DOCKER=1"
		return 0
	fi
	dir=$(mktemp -d /tmp/promobot-docker.XXXXXX) || return 1
	touch "$dir/promobot-docker-env"
	if [ -n "${DOCKER_HOST:-}" ] && ping_engine "$DOCKER_HOST"; then
		host=$DOCKER_HOST
		log "using the engine at DOCKER_HOST=$host"
	elif [ -z "${DOCKER_HOST:-}" ] && ping_engine unix:///var/run/docker.sock; then
		host=unix:///var/run/docker.sock
		log "using the engine at $host"
	else
		[ -n "${DOCKER_HOST:-}" ] && log "DOCKER_HOST=$DOCKER_HOST does not answer /_ping; starting a private dockerd"
		if ! host=$(start_dockerd "$dir"); then
			do_stop "$dir"
			log "no Docker engine available. Provide one: set DOCKER_HOST to a running engine"
			log "(unix:///path or tcp://host:port; podman system service works too), or run as root with"
			log "Debian's docker.io installed, or set PROMOBOT_SKIP_DOCKER=1 to disable the docker suites."
			return 1
		fi
		log "started a private dockerd at $host"
	fi
	reg_port=$(free_port) || { do_stop "$dir"; return 1; }
	reg="127.0.0.1:$reg_port"
	if ! start_registry "$dir" "$reg_port"; then
		do_stop "$dir"
		return 1
	fi
	log "local registry at $reg"
	echo "export DOCKER_HOST=$host"
	echo "export PROMOBOT_REGISTRY=$reg"
	echo "export PROMOBOT_DOCKER_ENV_DIR=$dir"
}

env_main PROMOBOT_DOCKER_ENV_DIR "start | stop <dir> | run CMD…" "$@"
