#!/bin/sh
# Started by supervisord (see README): run the daemon from this folder, whose .env holds the settings.
cd "$(dirname "$0")" || exit 1
exec tconnectsync --auto-update "$@"
