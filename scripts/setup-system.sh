#!/usr/bin/env bash
# Installs the Debian packages the service needs, only those that are absent:
# the CJK font and the Pango/fontconfig libraries WeasyPrint renders with (HarfBuzz
# subset: without it WeasyPrint subsets the CJK font with fontTools, ~7 s a PDF), and wrk,
# the load generator of bench/api.py (at saturation, and paced at a fixed rate).
set -euo pipefail

wanted=(fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig wrk)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
if ! command -v apt-get >/dev/null; then
  echo "apt-get not found: install ${missing[*]} with your system's package manager" >&2
  exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
