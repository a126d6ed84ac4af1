#!/usr/bin/env bash
# The main job for a new user: install, build, then `s0 demo`: a small random hybrid model written
# in the Hugging Face layout, an adapter trained on a learnable pattern, and the same prompts
# generated without and with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/s0 demo
