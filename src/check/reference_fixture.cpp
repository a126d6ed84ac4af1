#include "check/reference_fixture.h"

#include "core/error.h"

namespace s0 {

ReferenceFixture ReferenceFixture::open(const std::filesystem::path& dir, const HybridModel& model) {
  ReferenceFixture f{dir, load_json_file(dir / "reference.json"), SafetensorsFile::open(dir / "reference.safetensors"),
                     {}, {}, {}};
  const std::string meta_origin = (dir / "reference.json").string();
  const Json& seqs = json_field(f.meta, "sequences", meta_origin);
  if (!seqs.is_array() || seqs.empty()) fail(meta_origin, ": \"sequences\" must be a non-empty list");
  for (size_t k = 0; k < seqs.size(); ++k) {
    const std::string name = "ids." + std::to_string(k);
    std::vector<int64_t> ids = f.tensors.tensor(name).to_i64();
    const int64_t len = json_int(seqs[k], "length", meta_origin + " sequences[" + std::to_string(k) + "]");
    const int64_t plen = json_int(seqs[k], "prompt_len", meta_origin + " sequences[" + std::to_string(k) + "]");
    if (static_cast<int64_t>(ids.size()) != len)
      fail(f.tensors.path().string(), ": tensor \"", name, "\" has ", ids.size(), " tokens, reference.json says ", len);
    if (plen < 1 || plen > len) fail(meta_origin, ": sequence ", k, " prompt_len ", plen, " outside [1, ", len, "]");
    f.sequences.push_back(std::move(ids));
    f.prompt_lens.push_back(plen);
  }
  std::vector<int64_t> want_layers;
  for (const RecurrentLayer& r : model.recurrent) want_layers.push_back(r.layer);
  if (f.meta.contains("recurrent_layers")) {
    std::vector<int64_t> got = f.meta["recurrent_layers"].get<std::vector<int64_t>>();
    if (got != want_layers)
      fail(meta_origin, ": recurrent_layers ", f.meta["recurrent_layers"].dump(), " differ from the model's ",
           Json(want_layers).dump());
  }
  for (const RecurrentLayer& r : model.recurrent) {
    const std::string name = "s0." + std::to_string(r.layer);
    Tensor t = f.tensors.tensor(name);
    if (t.shape() != r.state_shape)
      fail(f.tensors.path().string(), ": tensor \"", name, "\" has shape ", shape_str(t.shape()), ", the model's state is ",
           shape_str(r.state_shape));
    f.s0.states.push_back(t.to_f32());
  }
  return f;
}

Tensor ReferenceFixture::expected(const std::string& name) const { return tensors.tensor(name).to_f32(); }

}  // namespace s0
