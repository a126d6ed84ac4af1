#pragma once
// How prompt/completion text becomes token ids for training, with the model's own tokenizer:
// the prompt is the user turn rendered by the model's chat template with the generation prompt
// (thinking disabled), the completion is followed by the tokenizer's eos token (Qwen's end of
// turn), and the two are tokenized separately so the prompt/completion boundary is exact. Without
// a chat template, the prompt text is used as it is.
#include <filesystem>

#include "tune/data.h"

namespace s0 {

class Tokenizer;

// A tokenizing function for load_training_data, or an empty one when the folder has no
// tokenizer.json (then only id examples can be read). The tokenizer and chat template are read when
// the first text example comes (about half a second for Qwen's tokenizer.json; a file of ids never
// reads them); `loaded` is the folder's tokenizer already in memory (a model session's), used
// instead of reading it again. It must outlive the function.
PairTokenizer text_example_tokenizer(const std::filesystem::path& model_dir, const Tokenizer* loaded = nullptr);

}  // namespace s0
