#!/bin/sh
# check-banned.sh — fails when product code uses functions we ban (unbounded copies, atoi, shells).
# usage: scripts/check-banned.sh [SRC_DIR]   (a meson test runs it)
src=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$src" || exit 2
# sprintf/strcpy/strcat/gets: unbounded; atoi/atol: no error checks; system/popen: a shell.
pattern='(^|[^a-z_])(sprintf|vsprintf|strcpy|strcat|gets|atoi|atol|system|popen)[[:space:]]*\('
hits=$(grep -nE "$pattern" common/*.c config/*.c storage/*.c integrations/*.c commands/*.c bot/*.c)
if [ -n "$hits" ]; then
	echo "banned functions in product code (use snprintf, pb_strlcpy, pb_parse_long, argv + fork/exec):"
	echo "$hits"
	exit 1
fi
echo "no banned functions in product code"
