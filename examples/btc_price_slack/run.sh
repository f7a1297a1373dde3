#!/usr/bin/env sh
# Usage: examples/btc_price_slack/run.sh --slack-url URL [--price-url URL] [--base-url URL] [--api-key KEY]
# Uses the repository's .venv when present (the SDK is installed there), else python3 with aos-sdk installed.
here=$(cd "$(dirname "$0")" && pwd)
py=${AOS_PYTHON:-$here/../../.venv/bin/python}
[ -x "$py" ] || py=python3
exec "$py" "$here/demo.py" "$@"
