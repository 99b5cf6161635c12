#!/usr/bin/env bash
# Installs the Debian packages that tests need, only when missing: headless Chromium for the
# report test, graphviz for the DOT export check, a Java runtime (17+) for the Spark engine of
# `heisttrace cluster` (pyspark itself comes from the pyproject test extra). Skipped without root.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  [ -n "$v" ] && [ "$v" -ge 17 ]
}
java_ok || missing+=(default-jre-headless)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "note: ${missing[*]} not installed and not root; tests that need them will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
