#!/usr/bin/env bash
# The Debian packages our Python libraries need at run time, installed when missing:
# WeasyPrint (the access report's PDF) needs Pango and HarfBuzz-Subset. Called by `make install` and .ci/run.
# The fax OCR (documents/ocr.py, ocrmypdf) needs Tesseract with its English data and Ghostscript.
# Without root or apt it only says what is missing, and the PDF export answers an error.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
packages+=(tesseract-ocr tesseract-ocr-eng ghostscript)
# The browser tests (tests/browser, marker "browser") drive Debian's Chromium; only when
# asked (.ci/run sets BROWSER_TESTS=1): Playwright never downloads a browser.
if [ "${BROWSER_TESTS:-0}" = 1 ]; then
  packages+=(chromium)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "Missing system packages (PDF reports need them): ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
fi
