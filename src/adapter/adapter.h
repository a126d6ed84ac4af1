#pragma once
// Adapters against a loaded model, for training and generation alike: the family's alpha, the
// checks that a file belongs to the model, and activation (normalise, scale by alpha) into the
// initial states a forward starts from.
#include <optional>

#include "io/adapter_file.h"
#include "model/batch.h"
#include "model/model.h"

namespace s0 {

// The s0-tuning library's alpha by family when the adapter's config leaves it null.
double default_alpha(const std::string& arch);

// Fails, naming what differs (arch, state shape, or a layer the model does not have as recurrent),
// when the adapter does not belong to this model.
void check_adapter_matches(const AdapterFile& adapter, const HybridModel& model, const std::string& where);

// The initial states a forward starts from (or, for a state-offset adapter, the offsets it adds at
// every token): each tensor normalised to unit norm when the config says so, then multiplied by
// alpha (the override, else the config's, else the family default). Layers the adapter does not
// cover start from zero (have no offset).
StateSet activate_adapter(const AdapterFile& adapter, const HybridModel& model, std::optional<double> alpha = {});

// Fails when activated states would start every recurrent layer from zero, as no adapter does: a
// "tuned" run with them is the base run under another name (an untrained or zero adapter, alpha 0).
void check_adapter_applies(const StateSet& activated, const std::string& where);

}  // namespace s0
