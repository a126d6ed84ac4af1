#!/usr/bin/env bash
# Packs built s0 binaries for a bare GPU machine (the device tool's, which has CUDA but none of our
# Debian packages): the binaries (stripped), every shared library they load except the C library's
# own and CUDA's (the machine has its own), the model fixtures, the Qwen tokenizer (gzipped) and
# HumanEval's data for bench/humaneval_workload.sh, and run.sh, which runs a packed binary with those
# libraries and fixtures:
#   scripts/pack-for-device.sh OUT build/s0 build/tests/test_ops ...
#   (on the GPU machine)  OUT/run.sh test_ops --gtest_filter='Cuda*'
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT BINARY..." >&2
  exit 2
fi
out=$1
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${S0_SHARED_DIR:-$root/../shared}"  # a worktree has no ../shared: tests read S0_SHARED_DIR too
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for binary in "$@"; do
  cp "$binary" "$out/bin/"
  strip --strip-unneeded "$out/bin/$(basename "$binary")"
  # ldd lines: "name => /path (addr)"; the loader, libc and its companions, and CUDA stay behind.
  ldd "$binary" | awk '/=>/ {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libcuda*|libcublas*) ;;
      *) cp -L "$lib" "$out/lib/" ;;
    esac
  done
done
# The model fixtures, and of the tokenizer fixture only the files a model folder needs, tokenizer.json
# gzipped (11 MiB, 2 MiB gzipped: the device tool carries 64 MiB); the workload script unpacks it.
mkdir -p "$out/shared/fixtures/tokenizer/qwen3" "$out/shared/datasets"
cp -r "$shared/fixtures/models" "$out/shared/fixtures/"
gzip -9c "$shared/fixtures/tokenizer/qwen3/tokenizer.json" > "$out/shared/fixtures/tokenizer/qwen3/tokenizer.json.gz"
cp "$shared/fixtures/tokenizer/qwen3/tokenizer_config.json" "$out/shared/fixtures/tokenizer/qwen3/"
cp "$shared/datasets/humaneval.jsonl" "$out/shared/datasets/"
cp -r "$root/tests/fixtures/models/." "$out/shared/fixtures/models/"  # the project's own (scripts/make_family_fixtures.py)
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# Runs one packed binary with the packed libraries; tests find the fixtures and the s0 binary here.
here="$(cd "$(dirname "$0")" && pwd)"
binary=$1
shift
export LD_LIBRARY_PATH="$here/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}"
export S0_SHARED_DIR="$here/shared" S0_BIN="$here/bin/s0"
exec "$here/bin/$binary" "$@"
RUN
chmod +x "$out/run.sh"
du -sh "$out" | cut -f1 | xargs echo "packed into $out:"
