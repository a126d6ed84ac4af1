#pragma once
// Where users keep checkpoints: a folder, or a Hugging Face repo id resolved offline from the hub
// cache that `huggingface_hub` fills. Its layout is
//   <cache>/models--<org>--<name>/refs/<branch or tag>     a file holding a commit hash
//   <cache>/models--<org>--<name>/snapshots/<commit>/...    the repo's files (links into blobs/)
// and <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
// ~/.cache/huggingface/hub. Nothing is downloaded.
#include <filesystem>
#include <string>

namespace s0 {

// The hub cache folder the environment names (it may not exist).
std::filesystem::path hf_hub_cache_dir();

// `spec` as a folder when it is an existing path; else, when it is a repo id `org/name` or
// `org/name@revision` (a branch, a tag or a commit hash; main when absent), that repo's snapshot
// folder in the hub cache. Fails with one line saying where it looked.
std::filesystem::path resolve_model_folder(const std::string& spec);

}  // namespace s0
