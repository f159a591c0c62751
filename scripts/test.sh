#!/usr/bin/env bash
# The whole test suite: lint, types, and every test tier against real processes. Fails loudly.
source "$(dirname "$0")/setup.sh"

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== lint-imports (layers: docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "== mypy --strict"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
