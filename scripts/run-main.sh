#!/usr/bin/env bash
# The main job for a new user: install, build, then the demo: a small random hybrid model, an S0
# adapter trained on it, and the same prompts generated without and with the adapter (no download).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/src/s0 demo
