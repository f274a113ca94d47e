#!/usr/bin/env bash
# run.sh — builds promobot and runs it on the embedded default config (console chat, SQLite file).
# usage: scripts/run.sh [CONFIG]      (default: config/promobot.example.json)
#
# With the example config it also serves config/demo/site on 127.0.0.1:8099: the target of the
# demo-web component (an "external" deployment), so monitoring can be seen without Docker or tokens.
# The server is stopped when the bot exits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null

config=${1:-config/promobot.example.json}
demo_port=8099   # demo-web's validation.url in config/promobot.example.json
demo_pid=

stop_demo() {
	if [ -n "$demo_pid" ]; then
		kill "$demo_pid" 2>/dev/null || true
		wait "$demo_pid" 2>/dev/null || true
	fi
}

# 0 when something accepts connections on 127.0.0.1:$1.
port_answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if [ "$config" = config/promobot.example.json ]; then
	mkdir -p data
	if port_answers "$demo_port"; then
		echo "promobot: port $demo_port is taken by another program, so the demo-web site is not started;" \
		     "demo-web's checks will probe whatever answers there (free the port to see the demo as described)." >&2
	else
		trap stop_demo EXIT
		# its own session: Ctrl-C at the prompt reaches the bot, not the site; the trap stops it
		setsid python3 -m http.server --bind 127.0.0.1 --directory config/demo/site "$demo_port" \
			>data/demo-web.log 2>&1 &
		demo_pid=$!
		for _ in $(seq 50); do
			port_answers "$demo_port" && break
			kill -0 "$demo_pid" 2>/dev/null || break
			sleep 0.1
		done
		if port_answers "$demo_port"; then
			echo "promobot: demo-web is served on http://127.0.0.1:$demo_port/ (pid $demo_pid, log: data/demo-web.log)" >&2
		else
			echo "promobot: the demo-web site did not start on 127.0.0.1:$demo_port (see data/demo-web.log)" >&2
		fi
	fi
fi

rc=0
./build/promobot --config "$config" || rc=$?
exit "$rc"
