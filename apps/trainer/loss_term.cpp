// The registry of loss terms: each config name mapped to the factory its file in apps/trainer/loss_terms/ defines.
#include "apps/trainer/loss_term.h"

namespace tl::train {

// The factories, defined in apps/trainer/loss_terms/ (both TopoVAE terms in topovae.cpp).
std::unique_ptr<LossTerm> make_talsr_term();
std::unique_ptr<LossTerm> make_homological_ae_term();
std::unique_ptr<LossTerm> make_signature_term();
std::unique_ptr<LossTerm> make_landscape_term();
std::unique_ptr<LossTerm> make_topovae_term();
std::unique_ptr<LossTerm> make_topovae_z1_term();
std::unique_ptr<LossTerm> make_topogen_term();

namespace {

struct RegisteredTerm {
  const char* name;
  std::unique_ptr<LossTerm> (*make)();
};

// One line per term.
constexpr RegisteredTerm kRegistry[] = {
    {"talsr", make_talsr_term},         {"homological_ae", make_homological_ae_term},
    {"signature", make_signature_term}, {"landscape", make_landscape_term},
    {"topovae", make_topovae_term},     {"topovae_z1", make_topovae_z1_term},
    {"topogen", make_topogen_term},
};

}  // namespace

std::vector<std::string> loss_term_names() {
  std::vector<std::string> names;
  for (const RegisteredTerm& term : kRegistry) names.emplace_back(term.name);
  return names;
}

std::unique_ptr<LossTerm> make_loss_term(const std::string& name) {
  for (const RegisteredTerm& term : kRegistry)
    if (name == term.name) return term.make();
  TL_FAIL(ValueError, "no loss term is registered as '", name, "'");
}

}  // namespace tl::train
