#!/bin/sh
# podman-env.sh — makes podman's Docker-compatible API (and a local registry) available to the docker test suites.
#
#   scripts/podman-env.sh start        prints `export VAR=…` lines to eval; starts a private podman service
#   scripts/podman-env.sh stop <dir>   stops what `start` started in <dir> and removes <dir>
#   scripts/podman-env.sh run CMD…     start, run CMD with the variables set, stop; exits with CMD's status
#
# Same interface as docker-env.sh, but always starts its own engine: `podman system service` (Debian's
# podman, root, runc, cgroupfs) on a unix socket in a temporary directory, with its own storage root,
# run root, tmp dir, containers.conf and registries.conf, so it never touches /var/lib/containers or a
# podman the machine already runs. Storage: overlay when the kernel allows it here, else vfs
# (PROMOBOT_PODMAN_STORAGE=vfs|overlay forces one). Registry: Debian's docker-registry on
# 127.0.0.1:<free port>, declared insecure (plain HTTP) in the private registries.conf — dockerd
# treats 127.0.0.0/8 registries that way by default, podman needs to be told.
# PROMOBOT_SKIP_PODMAN=1 disables this run; the script then says so, starts nothing, and also exports
# PROMOBOT_SKIP_DOCKER=1 so suites run through `run` report DISABLED instead of using another engine.
set -u

log() { echo "podman-env: $*" >&2; }
. "$(dirname "$0")/engine-lib.sh"

# pm DIR ARGS…: the podman CLI on the private roots and configuration of DIR (bounded: 120 s).
pm() {
	pmdir=$1; shift
	CONTAINERS_CONF="$pmdir/containers.conf" CONTAINERS_REGISTRIES_CONF="$pmdir/registries.conf" \
	CONTAINERS_STORAGE_CONF="$pmdir/storage.conf" TMPDIR="$pmdir/tmp" \
		timeout 120 podman --root "$pmdir/root" --runroot "$pmdir/run" --tmpdir "$pmdir/libpod" \
		--volumepath "$pmdir/volumes" --network-config-dir "$pmdir/net" \
		--storage-driver "$(cat "$pmdir/driver")" "$@"
}

do_stop() {
	dir=$1
	[ -d "$dir" ] || return 0
	[ -f "$dir/promobot-podman-env" ] || { log "refusing to clean $dir: not made by podman-env.sh"; return 1; }
	stop_pidfile "$dir/registry.pid"
	# Containers outlive the API service (conmon keeps them): remove them while the service still runs.
	if [ -f "$dir/driver" ] && [ -f "$dir/pid" ]; then
		pm "$dir" rm --all --force --time 0 >/dev/null 2>&1
		pm "$dir" rmi --all --force >/dev/null 2>&1
	fi
	stop_pidfile "$dir/pid"
	# Overlay/shm mounts stay behind under the roots: unmount before removing.
	grep -o " $dir/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$dir"
}

# POSIX sh has no locals: every function here uses its own prefixed variable names.
write_conf() {
	wc_dir=$1 wc_reg=$2
	mkdir -p "$wc_dir/root" "$wc_dir/run" "$wc_dir/tmp" "$wc_dir/libpod" "$wc_dir/volumes" "$wc_dir/net"
	# runc: crun fails on hybrid cgroups here; cgroupfs: no systemd; file events: no journald;
	# no default ulimits: the container may not raise nofile above the service's own limit.
	cat >"$wc_dir/containers.conf" <<CONF
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$wc_dir/events.log"
tmp_dir = "$wc_dir/libpod"
volume_path = "$wc_dir/volumes"
CONF
	cat >"$wc_dir/storage.conf" <<CONF
[storage]
driver = "$(cat "$wc_dir/driver")"
graphroot = "$wc_dir/root"
runroot = "$wc_dir/run"
CONF
	# Short names ("promobot-test/neo4jfake:tag") resolve locally; the test registry speaks plain HTTP.
	cat >"$wc_dir/registries.conf" <<CONF
unqualified-search-registries = []
short-name-mode = "permissive"

[[registry]]
location = "$wc_reg"
insecure = true
CONF
}

# Picks overlay when this kernel/filesystem supports it under $dir, else vfs.
pick_driver() {
	pd_dir=$1
	case "${PROMOBOT_PODMAN_STORAGE:-}" in
	overlay|vfs) echo "$PROMOBOT_PODMAN_STORAGE" >"$pd_dir/driver"; return 0 ;;
	"") ;;
	*) log "PROMOBOT_PODMAN_STORAGE must be overlay or vfs"; return 1 ;;
	esac
	echo overlay >"$pd_dir/driver"
	write_conf "$pd_dir" 127.0.0.1:1
	if pm "$pd_dir" info >"$pd_dir/probe.log" 2>&1; then
		return 0
	fi
	log "overlay storage unavailable here, using vfs ($(tail -n 1 "$pd_dir/probe.log"))"
	rm -rf "$pd_dir/root" "$pd_dir/run"
	echo vfs >"$pd_dir/driver"
}

start_podman() {
	sp_dir=$1 sp_reg=$2
	command -v podman >/dev/null 2>&1 || { log "podman not found (install Debian's podman and runc)"; return 1; }
	command -v runc >/dev/null 2>&1 || { log "runc not found (install Debian's runc; crun fails on hybrid cgroups)"; return 1; }
	[ "$(id -u)" = 0 ] || { log "starting a private podman service needs root"; return 1; }
	pick_driver "$sp_dir" || return 1
	write_conf "$sp_dir" "$sp_reg"
	pm_sock="unix://$sp_dir/podman.sock"
	CONTAINERS_CONF="$sp_dir/containers.conf" CONTAINERS_REGISTRIES_CONF="$sp_dir/registries.conf" \
	CONTAINERS_STORAGE_CONF="$sp_dir/storage.conf" TMPDIR="$sp_dir/tmp" \
		podman --root "$sp_dir/root" --runroot "$sp_dir/run" --tmpdir "$sp_dir/libpod" \
		--volumepath "$sp_dir/volumes" --network-config-dir "$sp_dir/net" \
		--storage-driver "$(cat "$sp_dir/driver")" \
		system service --time=0 "$pm_sock" >"$sp_dir/podman.log" 2>&1 &
	echo $! >"$sp_dir/pid"
	if ! wait_for 60 ping_engine "$pm_sock"; then
		log "podman system service did not answer /_ping within 60 s; last log lines:"
		tail -n 20 "$sp_dir/podman.log" >&2
		return 1
	fi
	echo "$pm_sock"
}


do_start() {
	if [ "${PROMOBOT_SKIP_PODMAN:-}" = 1 ]; then
		log "PROMOBOT_SKIP_PODMAN=1: the podman run of the docker suites is DISABLED (not run, not counted)"
		# The suites' own switch too, so a `run` reports them DISABLED instead of aiming them at
		# whatever engine DOCKER_HOST happens to name.
		echo "export PROMOBOT_SKIP_PODMAN=1"
		echo "export PROMOBOT_SKIP_DOCKER=1"
		return 0
	fi
	dir=$(mktemp -d /tmp/promobot-podman.XXXXXX) || return 1
	touch "$dir/promobot-podman-env"
	port=$(free_port)
	[ -n "$port" ] || { log "cannot find a free TCP port on 127.0.0.1 for the registry"; do_stop "$dir"; return 1; }
	# The registry comes first: podman's registries.conf has to name it before the service starts.
	if ! start_registry "$dir" "$port"; then
		do_stop "$dir"
		return 1
	fi
	if ! host=$(start_podman "$dir" "127.0.0.1:$port"); then
		do_stop "$dir"
		log "no podman engine available. Run as root with Debian's podman and runc installed,"
		log "or set PROMOBOT_SKIP_PODMAN=1 to disable the podman run of the docker suites."
		return 1
	fi
	log "started a private podman service ($(podman --version 2>/dev/null), $(cat "$dir/driver" 2>/dev/null || echo ?) storage) at $host"
	log "local registry at 127.0.0.1:$port"
	echo "export DOCKER_HOST=$host"
	echo "export PROMOBOT_REGISTRY=127.0.0.1:$port"
	echo "export PROMOBOT_PODMAN_ENV_DIR=$dir"
}

env_main PROMOBOT_PODMAN_ENV_DIR "start | stop <dir> | run CMD…" "$@"
