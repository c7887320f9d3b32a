#!/bin/sh
# Started by supervisord (see the README's "Under supervisord"): runs the daemon from this folder,
# whose .env holds the settings. A process manager's PATH is minimal, so the program is looked for
# in the virtualenv next to this script first (.venv/bin/tconnectsync), then on PATH.
cd "$(dirname "$0")" || exit 1
if [ -x .venv/bin/tconnectsync ]; then
  exec .venv/bin/tconnectsync --auto-update "$@"
fi
if command -v tconnectsync >/dev/null 2>&1; then
  exec tconnectsync --auto-update "$@"
fi
echo "run.sh: tconnectsync not found in $(pwd)/.venv/bin or on PATH ($PATH): install it next to this script with: python3 -m venv .venv && .venv/bin/pip install <the tconnectsync checkout>" >&2
exit 127
