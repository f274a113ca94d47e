# engine-lib.sh — shell helpers shared by docker-env.sh, podman-env.sh and pg-env.sh (sourced, not run).
# The sourcing script defines log().

# ping URL-or-socket: 0 when the engine answers /_ping with OK.
ping_engine() {
	case "$1" in
	unix://*) curl -sf --max-time 3 --unix-socket "${1#unix://}" http://localhost/_ping 2>/dev/null | grep -q OK ;;
	tcp://*) curl -sf --max-time 3 "http://${1#tcp://}/_ping" 2>/dev/null | grep -q OK ;;
	*) return 1 ;;
	esac
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	# Without python: the first port from a pid-derived start that nothing listens on.
	p=$((20000 + $$ % 20000))
	while grep -qi ":$(printf %04X $p) 00000000:0000 0A" /proc/net/tcp 2>/dev/null; do p=$((p + 1)); done
	echo $p
}

# wait_for SECONDS CMD…: polls CMD every 0.1 s until it succeeds or the deadline passes.
wait_for() {
	limit=$(( $1 * 10 )); shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

stop_pidfile() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null)
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	wait_for 30 sh -c "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null
	rm -f "$1"
}

# start_registry DIR PORT: Debian's docker-registry on 127.0.0.1:PORT, storage in DIR (bounded wait).
start_registry() {
	sr_dir=$1 sr_port=$2
	command -v docker-registry >/dev/null 2>&1 || { log "docker-registry not found (install Debian's docker-registry)"; return 1; }
	mkdir -p "$sr_dir/registry"
	cat >"$sr_dir/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $sr_dir/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$sr_port
YML
	docker-registry serve "$sr_dir/registry.yml" >"$sr_dir/registry.log" 2>&1 &
	echo $! >"$sr_dir/registry.pid"
	if ! wait_for 30 sh -c "curl -sf --max-time 2 http://127.0.0.1:$sr_port/v2/ >/dev/null"; then
		log "docker-registry did not answer on 127.0.0.1:$sr_port; last log lines:"
		tail -n 20 "$sr_dir/registry.log" >&2
		return 1
	fi
}

# env_main DIRVAR USAGE ARGS…: the command line every *-env.sh script shares. The script defines
# do_start (prints `export VAR=…` lines to eval, DIRVAR=<dir> among them when it started something)
# and do_stop DIR; USAGE lists its sub-commands. `start` and `stop <dir>` call those; `run CMD…` starts,
# runs CMD with the variables set, stops, and exits with CMD's status.
env_main() {
	em_var=$1 em_usage=$2
	shift 2
	case "${1:-}" in
	start) do_start ;;
	stop) [ $# -eq 2 ] || { log "usage: $0 stop <dir>"; exit 2; }; do_stop "$2" ;;
	run)
		shift
		[ $# -ge 1 ] || { log "usage: $0 run CMD…"; exit 2; }
		vars=$(do_start) || exit 1
		eval "$vars"
		eval "em_dir=\${$em_var:-}"
		if [ -n "$em_dir" ]; then
			trap 'do_stop "$em_dir"' EXIT
			trap 'exit 130' INT TERM
		fi
		"$@"
		exit $?
		;;
	*) log "usage: $0 $em_usage"; exit 2 ;;
	esac
}
