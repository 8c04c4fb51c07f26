#!/usr/bin/env bash
# Say which external programs the test suite needs are missing on this machine. Tests that
# need one skip with the same reason (tests/live.py: require_tool), except on CI (CI=true),
# where .ci/run installs them all and a missing one fails the test instead.
# Informational: always exits 0.
missing=()
packages=()
for tool in git git-lfs chromium bwrap; do
  command -v "$tool" >/dev/null 2>&1 || { missing+=("$tool"); packages+=("${tool/#bwrap/bubblewrap}"); }
done
# clamd lives in /usr/sbin, outside some users' PATH; its package is clamav-daemon.
if ! command -v clamd >/dev/null 2>&1 && [ ! -x /usr/sbin/clamd ]; then
  missing+=(clamd); packages+=(clamav-daemon)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "make test: not installed here: ${missing[*]}; the tests that need them will be skipped."
  echo "  Debian: apt-get install -y ${packages[*]}   (.ci/run installs them on CI)"
fi
exit 0
