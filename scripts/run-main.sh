#!/usr/bin/env bash
# The main job for a new user: install, build, then check the engine against a shared reference fixture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
build/s0 info ../shared/fixtures/models/qwen35-text
build/s0 check-reference ../shared/fixtures/models/qwen35-text
