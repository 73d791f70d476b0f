#pragma once
/// One DARTS search step, data-parallel: the architecture step (alpha, Adam, on validation
/// batches; first or second order) followed by the weight step (SGD with momentum, weight decay
/// and gradient clipping, on training batches).
///
/// Data parallelism: every rank passes its own micro-batches (its shard of the global batch,
/// possibly cut into several micro-batches for --accumulate). A micro-batch's loss is the *sum*
/// of its cross-entropies divided by the global batch size, so the local gradients summed over
/// micro-batches and ranks are exactly the gradient of the global batch's mean loss, also when
/// shards are uneven. BatchNorm normalises each micro-batch by itself (as DDP does per rank).
/// Each optimiser update packs every gradient it needs into one flat buffer and sums it with
/// one Collective::allreduce_sum; all ranks then apply the identical update and stay identical.
/// A first-order step makes two such calls (alpha, then weights: the weight gradient needs the
/// updated alpha); a second-order step four (the unrolled step's training gradient, the
/// validation gradients at w', the two finite-difference gradients, the weights).

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "hpcnas/comm/collective.hpp"
#include "hpcnas/darts/search_network.hpp"
#include "hpcnas/train/flat_sgd.hpp"

namespace hpcnas::darts {

struct ArchitectOptions {
  int order = 1; ///< 1: first order; 2: unrolled step with a finite-difference Hessian product
  double momentum = 0.9;
  double weight_decay = 3e-4;
  double grad_clip = 5.0; ///< 0: no clipping
  double arch_learning_rate = 3e-4;
  double arch_beta1 = 0.5;
  double arch_beta2 = 0.999;
  double arch_weight_decay = 1e-3;
  /// r of the finite-difference Hessian-vector product: eps = r / |dL_val/dw'| (DARTS: 0.01).
  /// Tests use a smaller r: ReLU and max-pool kinks make the difference quotient noisy at 0.01.
  double hessian_radius = 0.01;
};

/// What this rank's training micro-batches of one step gave (sums, not means).
struct StepStats {
  double loss_sum = 0;
  std::int64_t correct = 0;
  std::int64_t count = 0;
};

class Architect {
public:
  /// Trains `net`: the image supernet or the recurrent one.
  Architect(std::shared_ptr<SearchNetworkImpl> net, const ArchitectOptions& options,
            comm::Collective& collective);

  /// One search step: architecture step on `val`, then weight step on `train`, at weight
  /// learning rate `lr`. `train_global` and `val_global` are the global batch sizes.
  StepStats step(const std::vector<Batch>& train, const std::vector<Batch>& val,
                 std::int64_t train_global, std::int64_t val_global, double lr);

  /// The gradient of the architecture step, summed over ranks: first order d L_val(w, a) / da;
  /// second order d L_val(w', a) / da - lr * (finite-difference Hessian-vector product), with
  /// w' = w - lr * (momentum * buffer + dL_train/dw + weight_decay * w). Returns one gradient
  /// per alpha (image: {normal, reduce}); leaves weights and alpha as they were.
  std::vector<torch::Tensor> arch_gradient(const std::vector<Batch>& train,
                                           const std::vector<Batch>& val, std::int64_t train_global,
                                           std::int64_t val_global, double lr);

  /// Copies rank 0's weights and alpha to every rank (one broadcast of one flat buffer).
  void broadcast_parameters();
  /// Copies rank 0's BatchNorm running statistics to every rank (before evaluation), as DDP's
  /// broadcast_buffers does. Not their average: a checkpoint holds rank 0's state, and only
  /// rank 0's statistics are then restored exactly, so a resumed search validates the same.
  void broadcast_batchnorm_statistics();

  /// Writes everything a resumed search needs: weights, alpha and BatchNorm running statistics
  /// (each one flat tensor), the SGD momentum buffers and Adam's state.
  void save(torch::serialize::OutputArchive& archive) const;
  /// Restores what save wrote by copying values into the existing tensors, so their memory
  /// format (channels-last) and Adam's binding to alpha stay. Throws std::runtime_error when
  /// the archive holds a supernet of another size.
  void load(torch::serialize::InputArchive& archive);

  SearchNetworkImpl& net() { return *net_; }

private:
  void arch_step(const std::vector<torch::Tensor>& grads);
  StepStats weight_step(const std::vector<Batch>& train, std::int64_t train_global, double lr);
  void allreduce(torch::Tensor& flat);
  /// Copies rank 0's values of `tensors` to every rank (one broadcast of one flat buffer).
  void broadcast_from_root(const std::vector<torch::Tensor>& tensors);

  std::shared_ptr<SearchNetworkImpl> net_;
  ArchitectOptions options_;
  comm::Collective& collective_;
  std::vector<torch::Tensor> weights_;
  std::vector<torch::Tensor> alphas_;
  train::FlatSgd sgd_; ///< the weight step: the weights become views into its flat buffer
  std::unique_ptr<torch::optim::Adam> adam_;
};

/// Concatenation of the flattened tensors (undefined ones as zeros of `like`'s shapes).
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors,
                      const std::vector<torch::Tensor>& like);
/// Copies consecutive pieces of `flat` into `targets` (shapes of targets).
void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& targets);

} // namespace hpcnas::darts
