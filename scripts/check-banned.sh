#!/bin/sh
# check-banned.sh — fails when product code uses functions we ban (unbounded copies, atoi, shells, raw clocks).
# usage: scripts/check-banned.sh [SRC_DIR]   (a meson test runs it)
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src" || exit 2
status=0
# sprintf/strcpy/strcat/gets: unbounded; atoi/atol: no error checks; system/popen: a shell.
pattern='(^|[^a-z_])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|system|popen)[[:space:]]*\('
hits=$(grep -nE "$pattern" common/*.c config/*.c storage/*.c integrations/*.c commands/*.c bot/*.c)
if [ -n "$hits" ]; then
	echo "banned functions in product code (use snprintf, pb_strlcpy, pb_parse_long, argv + fork/exec):"
	echo "$hits"
	status=1
fi
# Time comes from a pb_clock (common/pb_clock.c) so tests can drive it; the log stamps real time.
pattern='(^|[^a-z_])(time[[:space:]]*\((NULL|0|&)|clock_gettime[[:space:]]*\(|gettimeofday[[:space:]]*\()'
hits=$(grep -nE "$pattern" common/*.c config/*.c storage/*.c integrations/*.c commands/*.c bot/*.c |
	grep -vE '^common/(pb_clock|pb_log)\.c:')
if [ -n "$hits" ]; then
	echo "raw clock reads in product code (take a pb_clock, or pb_clock_*(NULL) for the system clock):"
	echo "$hits"
	status=1
fi
[ "$status" -eq 0 ] && echo "no banned functions in product code"
exit "$status"
