// TopoVAE's two terms: T1..T4 compare the diagrams of the reconstruction batch with the input batch's, Z1 the
// codes' diagrams with the input batch's rescaled. Both weigh H0 and H1 alike and may divide by the batch size.
#include "apps/trainer/loss_term.h"
#include "topology/regularizers.h"

namespace tl::train {
namespace {

// The weights of the H0 and H1 parts (0: the thesis values) and the division by the batch size.
struct TopoVaeWeights {
  float w0 = 0.0f, w1 = 0.0f;
  bool divide_by_batch = true;

  void parse(ConfigSection& s) {
    w0 = s.non_negative_number("w0", 0.0f);
    w1 = s.non_negative_number("w1", 0.0f);
    divide_by_batch = s.get<bool>("divide_by_batch", true);
  }
};

class TopoVaeTerm final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    variant_ = static_cast<topology::TopoVae>(s.choice("variant", "T1", {"T1", "T2", "T3", "T4"}));
    weights_.parse(s);
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup&) const override { return std::make_unique<TopoVaeTerm>(*this); }

  Tensor loss(const LossTermBatch& b) const override {
    return topology::topovae_loss(b.reconstruction, b.batch, variant_, weights_.w0, weights_.w1,
                                  weights_.divide_by_batch);
  }

  bool needs_reconstruction() const override { return true; }

 private:
  topology::TopoVae variant_ = topology::TopoVae::T1;
  TopoVaeWeights weights_;
};

class TopoVaeZ1Term final : public LossTerm {
 public:
  void parse(ConfigSection& s) override {
    scale_ = s.positive_number("scale", 1.0f);
    weights_.parse(s);
  }

  std::unique_ptr<LossTerm> build(const LossTermSetup&) const override {
    return std::make_unique<TopoVaeZ1Term>(*this);
  }

  Tensor loss(const LossTermBatch& b) const override {
    return topology::topovae_z1_loss(b.latent, b.batch, scale_, weights_.w0, weights_.w1, weights_.divide_by_batch);
  }

 private:
  float scale_ = 1.0f;  // the input diagrams' rescaling factor
  TopoVaeWeights weights_;
};

}  // namespace

std::unique_ptr<LossTerm> make_topovae_term() {
  return std::make_unique<TopoVaeTerm>();
}

std::unique_ptr<LossTerm> make_topovae_z1_term() {
  return std::make_unique<TopoVaeZ1Term>();
}

}  // namespace tl::train
