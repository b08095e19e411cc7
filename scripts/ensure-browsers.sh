#!/usr/bin/env bash
# The end-to-end tests drive Debian's browsers: Chromium (every spec), and Firefox ESR and WebKitGTK
# (the cross-browser journeys; WebKit through WebKitWebDriver on a virtual display, Xvfb). Installs
# what is missing (as root), or says how to.
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
firefox="${FIREFOX_PATH:-/usr/bin/firefox-esr}"
missing=()
[[ -x "$chromium" ]] || missing+=(chromium fonts-liberation)
[[ -x "$firefox" ]] || missing+=(firefox-esr)
command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
command -v Xvfb >/dev/null || missing+=(xvfb)
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "[test] installing from Debian's packages: ${missing[*]}..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "[test] The end-to-end tests need Debian's ${missing[*]}, which were not found." >&2
echo "       Install them with: sudo apt-get install ${missing[*]}" >&2
echo "       (or set CHROMIUM_PATH / FIREFOX_PATH to the browsers' binaries)" >&2
exit 1
