#!/usr/bin/env bash
# The demo on embedded defaults: broker, ingest, alerts, dashboard and simulated homes. Ctrl-C stops it.
source "$(dirname "$0")/setup.sh"
exec .venv/bin/mimamori demo "$@"
