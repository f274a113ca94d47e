#!/bin/sh
# check.sh — manual check that the fake Slack speaks the protocol Slack's own SDKs expect.
# Needs npm (the npm registry); not part of the test suite. usage: check.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: check.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/check.js" "$work/"
(cd "$work" && npm init -y >/dev/null && npm install --silent @slack/socket-mode@2 @slack/web-api@7 >/dev/null)
ninja -C "$build" tests/fakes/fake_slack >/dev/null
cd "$work" && node check.js "$build/tests/fakes/fake_slack"
