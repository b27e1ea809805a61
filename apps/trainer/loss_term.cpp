// The registry of loss terms: each config name mapped to the factory its file in apps/trainer/loss_terms/ defines.
#include "apps/trainer/loss_term.h"

namespace tl::train {

// The registered terms, one line each: X(config name). The factory make_<name>_term() of each is defined in its
// file of apps/trainer/loss_terms/ (both TopoVAE terms in topovae.cpp).
#define TL_LOSS_TERMS(X) \
  X(talsr)               \
  X(homological_ae)      \
  X(signature)           \
  X(landscape)           \
  X(topovae)             \
  X(topovae_z1)          \
  X(topogen)

#define TL_DECLARE_LOSS_TERM_FACTORY(name) std::unique_ptr<LossTerm> make_##name##_term();
TL_LOSS_TERMS(TL_DECLARE_LOSS_TERM_FACTORY)
#undef TL_DECLARE_LOSS_TERM_FACTORY

namespace {

struct RegisteredTerm {
  const char* name;
  std::unique_ptr<LossTerm> (*make)();
};

constexpr RegisteredTerm kRegistry[] = {
#define TL_LOSS_TERM_ENTRY(name) {#name, make_##name##_term},
    TL_LOSS_TERMS(TL_LOSS_TERM_ENTRY)
#undef TL_LOSS_TERM_ENTRY
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
