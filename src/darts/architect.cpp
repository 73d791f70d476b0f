#include "hpcnas/darts/architect.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace hpcnas::darts {

namespace {

comm::DataType data_type(const torch::Tensor& t) {
  if (t.scalar_type() == torch::kFloat64)
    return comm::DataType::kFloat64;
  if (t.scalar_type() == torch::kFloat32)
    return comm::DataType::kFloat32;
  throw std::invalid_argument("allreduce: only float32 and float64 buffers are supported");
}

/// Sum of the micro-batch's cross-entropies over the global batch size.
torch::Tensor scaled_loss(const torch::Tensor& logits, const torch::Tensor& y,
                          std::int64_t global) {
  namespace F = torch::nn::functional;
  return F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(global);
}

} // namespace

torch::Tensor flatten(const std::vector<torch::Tensor>& tensors,
                      const std::vector<torch::Tensor>& like) {
  if (tensors.empty())
    return torch::zeros({0}); // e.g. the BatchNorm statistics of a network without BatchNorm
  std::vector<torch::Tensor> pieces;
  pieces.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i)
    pieces.push_back(tensors[i].defined() ? tensors[i].reshape(-1)
                                          : torch::zeros({like[i].numel()}, like[i].options()));
  return torch::cat(pieces);
}

void unflatten_into(const torch::Tensor& flat, const std::vector<torch::Tensor>& targets) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (const auto& t : targets) {
    const auto n = t.numel();
    t.copy_(flat.slice(0, offset, offset + n).view(t.sizes()));
    offset += n;
  }
}

Architect::Architect(std::shared_ptr<SearchNetworkImpl> net, const ArchitectOptions& options,
                     comm::Collective& collective)
    : net_(std::move(net)), options_(options), collective_(collective),
      weights_(net_->weight_parameters()), alphas_(net_->arch_parameters()),
      sgd_(weights_, options.momentum, options.weight_decay, options.grad_clip) {
  adam_ = std::make_unique<torch::optim::Adam>(alphas_,
                                               torch::optim::AdamOptions(options.arch_learning_rate)
                                                   .betas({options.arch_beta1, options.arch_beta2})
                                                   .weight_decay(options.arch_weight_decay));
}

void Architect::allreduce(torch::Tensor& flat) {
  if (collective_.size() == 1)
    return;
  flat = flat.contiguous();
  collective_.allreduce_sum(flat.data_ptr(), static_cast<std::size_t>(flat.numel()),
                            data_type(flat));
}

void Architect::broadcast_from_root(const std::vector<torch::Tensor>& tensors) {
  if (collective_.size() == 1 || tensors.empty())
    return;
  torch::NoGradGuard no_grad;
  auto flat = flatten(tensors, tensors).contiguous();
  collective_.broadcast(flat.data_ptr(), static_cast<std::size_t>(flat.numel()), data_type(flat),
                        0);
  unflatten_into(flat, tensors);
}

void Architect::broadcast_parameters() {
  auto all = weights_;
  all.insert(all.end(), alphas_.begin(), alphas_.end());
  broadcast_from_root(all);
}

void Architect::broadcast_batchnorm_statistics() {
  broadcast_from_root(net_->batchnorm_statistics());
}

std::vector<torch::Tensor> Architect::arch_gradient(const std::vector<Batch>& train,
                                                    const std::vector<Batch>& val,
                                                    std::int64_t train_global,
                                                    std::int64_t val_global, double lr) {
  const std::size_t n_alpha = alphas_.size();
  if (options_.order == 1) {
    torch::Tensor flat;
    for (const auto& b : val) {
      const auto w = net_->mixing_weights(false);
      const auto loss = scaled_loss(net_->logits(b, w), b.y, val_global);
      const auto g = flatten(torch::autograd::grad({loss}, alphas_), alphas_);
      flat = flat.defined() ? flat.add_(g) : g;
    }
    if (!flat.defined())
      flat = flatten(std::vector<torch::Tensor>(alphas_.size()), alphas_);
    allreduce(flat);
    std::vector<torch::Tensor> grads;
    std::int64_t offset = 0;
    for (const auto& a : alphas_) {
      grads.push_back(flat.slice(0, offset, offset + a.numel()).view(a.sizes()).clone());
      offset += a.numel();
    }
    return grads;
  }

  // Second order. (1) The unrolled weights w' = w - lr * (m * buf + dL_train/dw + wd * w).
  torch::Tensor g_train;
  {
    const auto w = net_->mixing_weights(true);
    for (const auto& b : train) {
      const auto loss = scaled_loss(net_->logits(b, w), b.y, train_global);
      const auto g =
          flatten(torch::autograd::grad({loss}, weights_, {}, false, false, true), weights_);
      g_train = g_train.defined() ? g_train.add_(g) : g;
    }
    if (!g_train.defined())
      g_train = flatten(std::vector<torch::Tensor>(weights_.size()), weights_);
    allreduce(g_train);
  }
  torch::Tensor backup;
  {
    torch::NoGradGuard no_grad;
    backup = flatten(weights_, weights_);
    const torch::Tensor& buffer = sgd_.momentum_buffer(); // undefined without momentum
    const auto moment = buffer.defined() ? sgd_.packed(buffer) : torch::zeros_like(backup);
    const auto unrolled =
        backup - lr * (options_.momentum * moment + g_train + options_.weight_decay * backup);
    unflatten_into(unrolled, weights_);
  }

  // (2) Gradients of L_val(w', a) with respect to a and w', in one buffer.
  auto both = alphas_;
  both.insert(both.end(), weights_.begin(), weights_.end());
  torch::Tensor flat;
  for (const auto& b : val) {
    const auto w = net_->mixing_weights(false);
    const auto loss = scaled_loss(net_->logits(b, w), b.y, val_global);
    const auto g = flatten(torch::autograd::grad({loss}, both, {}, false, false, true), both);
    flat = flat.defined() ? flat.add_(g) : g;
  }
  if (!flat.defined())
    flat = flatten(std::vector<torch::Tensor>(both.size()), both);
  allreduce(flat);
  std::int64_t alpha_numel = 0;
  for (const auto& a : alphas_)
    alpha_numel += a.numel();
  auto d_alpha = flat.slice(0, 0, alpha_numel).clone();
  const auto d_weights = flat.slice(0, alpha_numel);

  // (3) Finite-difference Hessian-vector product with eps = 0.01 / |dL_val/dw'|.
  const double eps = options_.hessian_radius / d_weights.norm().item<double>();
  torch::Tensor fd;
  for (const double sign : {1.0, -1.0}) {
    {
      torch::NoGradGuard no_grad;
      unflatten_into(backup + sign * eps * d_weights, weights_);
    }
    torch::Tensor g_sum;
    for (const auto& b : train) {
      const auto w = net_->mixing_weights(false);
      const auto loss = scaled_loss(net_->logits(b, w), b.y, train_global);
      const auto g = flatten(torch::autograd::grad({loss}, alphas_), alphas_);
      g_sum = g_sum.defined() ? g_sum.add_(g) : g;
    }
    if (!g_sum.defined())
      g_sum = torch::zeros({alpha_numel}, backup.options());
    fd = fd.defined() ? torch::cat({fd, g_sum}) : g_sum;
  }
  {
    torch::NoGradGuard no_grad;
    unflatten_into(backup, weights_);
  }
  allreduce(fd);
  const auto hessian_vector = (fd.slice(0, 0, alpha_numel) - fd.slice(0, alpha_numel)) / (2 * eps);
  d_alpha.sub_(lr * hessian_vector);

  std::vector<torch::Tensor> grads;
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < n_alpha; ++i) {
    const auto& a = alphas_[i];
    grads.push_back(d_alpha.slice(0, offset, offset + a.numel()).view(a.sizes()).clone());
    offset += a.numel();
  }
  return grads;
}

void Architect::arch_step(const std::vector<torch::Tensor>& grads) {
  for (std::size_t i = 0; i < alphas_.size(); ++i)
    alphas_[i].mutable_grad() = grads[i];
  adam_->step();
}

StepStats Architect::weight_step(const std::vector<Batch>& train, std::int64_t train_global,
                                 double lr) {
  sgd_.zero_grad();
  StepStats stats;
  const auto w = net_->mixing_weights(true);
  for (const auto& b : train) {
    const auto logits = net_->logits(b, w);
    const auto loss = scaled_loss(logits, b.y, train_global);
    loss.backward(); // accumulates into sgd_.grads()
    torch::NoGradGuard no_grad;
    stats.loss_sum += loss.item<double>() * static_cast<double>(train_global);
    stats.correct += logits.argmax(1).eq(b.y).sum().item<std::int64_t>();
    stats.count += b.y.size(0);
  }
  allreduce(sgd_.grads());
  sgd_.step(lr);
  return stats;
}

namespace {

/// Reads the flat tensor `key` into `targets`, refusing a different total size.
void read_flat_into(torch::serialize::InputArchive& archive, const std::string& key,
                    const std::vector<torch::Tensor>& targets) {
  torch::Tensor flat;
  archive.read(key, flat);
  std::int64_t expected = 0;
  for (const auto& t : targets)
    expected += t.numel();
  if (flat.dim() != 1 || flat.numel() != expected)
    throw std::runtime_error(
        "'" + key + "' holds " + std::to_string(flat.numel()) + " values, this supernet has " +
        std::to_string(expected) +
        " (other --channels or --layers; for texts other --rnn-nodes, --embedding, --hidden or "
        "--vocab-size?)");
  unflatten_into(flat, targets);
}

} // namespace

void Architect::save(torch::serialize::OutputArchive& archive) const {
  torch::NoGradGuard no_grad;
  const auto statistics = net_->batchnorm_statistics();
  // Host copies: the checkpoint does not depend on the device it was written from.
  archive.write("weights", flatten(weights_, weights_).cpu());
  archive.write("alphas", flatten(alphas_, alphas_).cpu());
  archive.write("batchnorm", flatten(statistics, statistics).cpu());
  // Zeros without momentum, so that every checkpoint holds the same entries.
  const torch::Tensor& buffer = sgd_.momentum_buffer();
  archive.write("momentum", buffer.defined()
                                ? sgd_.packed(buffer).cpu()
                                : torch::zeros({sgd_.parameter_count()},
                                               sgd_.params().options().device(torch::kCPU)));
  torch::serialize::OutputArchive adam;
  adam_->save(adam);
  archive.write("adam", adam);
}

void Architect::load(torch::serialize::InputArchive& archive) {
  read_flat_into(archive, "weights", weights_);
  read_flat_into(archive, "alphas", alphas_);
  read_flat_into(archive, "batchnorm", net_->batchnorm_statistics());
  torch::Tensor momentum = torch::empty({sgd_.parameter_count()}, sgd_.params().options());
  read_flat_into(archive, "momentum", {momentum});
  if (sgd_.momentum_buffer().defined())
    sgd_.unpack(momentum, sgd_.momentum_buffer());
  torch::serialize::InputArchive adam;
  archive.read("adam", adam);
  adam_->load(adam);
}

StepStats Architect::step(const std::vector<Batch>& train, const std::vector<Batch>& val,
                          std::int64_t train_global, std::int64_t val_global, double lr) {
  arch_step(arch_gradient(train, val, train_global, val_global, lr));
  return weight_step(train, train_global, lr);
}

} // namespace hpcnas::darts
