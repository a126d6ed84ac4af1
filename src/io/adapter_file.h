#pragma once
// Adapter folders in the s0-tuning library's exact format, so files from either tool load in the
// other:
//   states.safetensors  one float32 tensor per recurrent layer, key = the layer index in decimal,
//                       raw (unscaled) values
//   config.json         n_steps, lr, l2_lambda, alpha (null = family default), normalize, grad_clip,
//                       max_length; any other key is an error (as in the library's load()), and
//                       every number must be finite. s0 adds "variant": "state-offset" for a
//                       per-step state-offset adapter (core/adapter_variant.h), whose tensors are
//                       offsets, not initial states: the library refuses that key, so it never runs
//                       such an adapter as if it were S0 (it cannot run it at all)
//   meta.json           arch ("gated_delta_net" | "mamba2"), recurrent_layers, state_shape, and
//                       s0's own "trained_layers"; other keys are ignored (as in the library's load())
// The library's load() requires recurrent_layers to be every recurrent layer of the model, so s0
// writes a state for each (zeros where training left a layer out, which is the same as no state:
// a zero state stays zero under alpha and normalize) and records the layers it trained in
// "trained_layers", which the library ignores.
//
// Replacing a folder (training rewrites it after every step) keeps it a plain folder of those three
// files, so the library can read it at any time, and is atomic for every file: each is written to
// a temporary beside it and renamed over it (io/atomic_file.h), states.safetensors last, then the
// folder is fsynced. A reader never finds a file missing or half written. It could still open
// config.json before a replacement and states.safetensors after it, so states.safetensors records
// in its safetensors metadata a digest of the config.json and meta.json it was written with, and
// read_adapter rereads until the three agree. Within one training run config.json and meta.json
// never change (they are rewritten only when their bytes differ), so there any reader, the library
// included, sees one consistent adapter. Digests that stay different while nothing is being
// replaced mean a config.json or meta.json edited by hand, which is legitimate: it is read as it is.
//
// This was chosen over swapping a symbolic link to versioned folders (the folder would become a
// link, and a reader opening the three files by path could still straddle a swap) and over
// renaming a whole new folder into place (two renames, with a moment when there is no folder, the
// bug this replaced).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/adapter_variant.h"
#include "core/tensor.h"

namespace s0 {

struct AdapterConfig {
  int64_t n_steps = 20;
  double lr = 1e-3;
  double l2_lambda = 5e-4;
  std::optional<double> alpha;
  bool normalize = false;
  double grad_clip = 1.0;
  int64_t max_length = 2048;
  AdapterVariant variant = AdapterVariant::s0;  // s0's own key; absent in the library's files
};

struct AdapterFile {
  AdapterConfig config;
  std::string arch;
  std::vector<int64_t> layers;  // recurrent layers with a state, ascending (meta.json recurrent_layers)
  // meta.json "trained_layers": the layers whose states training changed (a subset of `layers`);
  // empty when the key is absent, as in the library's files, meaning all of them.
  std::vector<int64_t> trained_layers;
  Shape state_shape;
  std::map<int64_t, Tensor> states;  // layer -> float32 [state_shape]
};

// Reads and validates a folder (every file present and well-formed, states matching meta.json,
// every number finite).
AdapterFile read_adapter(const std::filesystem::path& dir);

// s0's own file beside the three (the library ignores it): the optimizer's state after the states
// in states.safetensors, for `s0 train --resume` (tune/optimizer_file.h).
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";

// Checks that an adapter may be written to `dir`: absent, an empty folder, or an adapter folder
// (its three files, plus s0's own optimizer, lock and temporary files, nothing else); an existing
// adapter is replaced only when `overwrite`. Anything else fails with one line: replacing must
// never delete what s0 did not write.
void check_adapter_output(const std::filesystem::path& dir, bool overwrite);

// Writes the folder as described above, creating it if needed; `dir` may end in "/" or "/.".
// Runs check_adapter_output first.
void write_adapter(const std::filesystem::path& dir, const AdapterFile& adapter, bool overwrite);

}  // namespace s0
