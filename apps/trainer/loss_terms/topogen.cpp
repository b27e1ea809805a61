// One TopoGen term (push, Reininghaus kernel, 4SGDE, bottleneck, entropy) on the reconstruction batch or on the
// codes, against the diagram of the input batch.
#include "apps/trainer/loss_term.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

class TopoGenTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    options_.term = static_cast<topology::TopoGenTerm>(
        s.choice("kind", "bottleneck", {"push", "reininghaus", "sgde4", "bottleneck", "entropy"}));
    options_.dim = s.get_checked<int>(
        "dim", 0, [](int v) { return v == 0 || v == 1; }, "0 or 1");
    options_.push_code_form = s.get<bool>("push_code_form", false);
    options_.sigma = s.non_negative_number("sigma", 0.0f);
    options_.entropy_delta = s.non_negative_number("entropy_delta", 0.001f);
    on_reconstruction_ = s.choice("on", "reconstruction", {"reconstruction", "latent"}) == 0;
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup&) const override { return std::make_unique<TopoGenTerm>(*this); }

  Tensor loss(const LossTermBatch& b) const override {
    return topology::topogen_term(on_reconstruction_ ? b.reconstruction : b.latent, b.batch, options_);
  }

  bool needs_reconstruction() const override { return on_reconstruction_; }

 private:
  topology::TopoGenOptions options_;
  bool on_reconstruction_ = true;  // the term's cloud is the reconstruction batch (else the codes)
};

}  // namespace

std::unique_ptr<LossTerm> make_topogen_term() {
  return std::make_unique<TopoGenTerm>();
}

}  // namespace tl::train
