#!/bin/sh
# github-check.sh — manual check that the fake GitHub speaks the protocol GitHub's own SDKs expect.
# Needs npm (the npm registry); not part of the test suite. usage: github-check.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: github-check.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/github-check.mjs" "$work/"
(cd "$work" && npm init -y >/dev/null && npm install --silent @octokit/rest@22 @octokit/graphql@9 @octokit/graphql-schema@15 graphql@16 >/dev/null)
ninja -C "$build" tests/fakes/github_fake >/dev/null
cd "$work" && node github-check.mjs "$build/tests/fakes/github_fake" "$here/../../.."
