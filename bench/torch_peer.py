#!/usr/bin/python3
"""The PyTorch eager reference of scripts/bench.sh: the step hpcnas times, written as a Python
DARTS implementation writes it, so that the two can be timed side by side.

  --mode child     one SGD step (momentum 0.9, weight decay 3e-4, gradients clipped to norm 5)
                   of the discrete network of DARTS_V2, the cell the DARTS paper published
  --mode supernet  one DARTS search step: an architecture step (Adam on the alphas) on a
                   validation batch, then the weight step above on a training batch; --order 2
                   takes the architecture step at the unrolled weights with the
                   finite-difference Hessian-vector product, as the DARTS code does
  --mode final     one step of the final training of hpcnas train at the documented
                   Fashion-MNIST run's settings: the DARTS_V2 network with its auxiliary head
                   (weight 0.4) and drop-path 0.2, on a batch of real Fashion-MNIST images
                   cropped after padding by 2 and flipped at random

The networks are DARTS's: a stem (3x3 convolution to 3C channels, BatchNorm), L cells of 4
intermediate nodes with reduction cells at L/3 and 2L/3, global average pooling and a linear
head. In the supernet every edge mixes the 8 candidate operations by softmax(alpha), and its
BatchNorms have no affine parameters; pooling there is followed by BatchNorm.

It times STEPS steps after one warm-up step and prints one line, which scripts/bench.sh reads:
  peer mode=M ... median_step_s=X min=X max=X peak_rss_mb=X
(peak_rss_mb: the process's peak resident memory, the interpreter and the data included).
Runs under Debian's python3-torch:  /usr/bin/python3 bench/torch_peer.py --mode child
"""
import argparse
import gzip
import resource
import statistics
import time

import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

CANDIDATES = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
              "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
INTERMEDIATE_NODES = 4
CLASSES = 10
STEM_MULTIPLIER = 3

# DARTS_V2 as published: per cell type, two (operation, input state) pairs per intermediate node;
# states 0 and 1 are the cell's two inputs.
DARTS_V2 = {
    "normal": (("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
               ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    "reduce": (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
               ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
}


def relu_conv_bn(c_in, c_out, affine):
    """A cell's preprocessing of an input of the same size: ReLU, 1x1 convolution, BatchNorm."""
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine))


def depthwise_separable(c, kernel, stride, padding, dilation, affine):
    """Depthwise kxk convolution, pointwise 1x1 convolution, BatchNorm (ReLU-first in DARTS)."""
    return [nn.ReLU(),
            nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=affine)]


class FactorizedReduce(nn.Module):
    """Halves height and width: two strided 1x1 convolutions, one shifted by a pixel, each to
    half the channels, concatenated and normalized."""

    def __init__(self, c_in, c_out, affine):
        super().__init__()
        self.even = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.odd = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.norm = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x):
        x = F.relu(x)
        return self.norm(torch.cat((self.even(x), self.odd(x[:, :, 1:, 1:])), dim=1))


class Zero(nn.Module):
    """The 'none' candidate: zeros of the output's shape, computed as DARTS computes them."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, ::self.stride, ::self.stride].mul(0.0)


def operation(name, c, stride, affine):
    """One candidate operation on C channels, as DARTS defines it."""
    if name == "none":
        return Zero(stride)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, padding=1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)
    kind, size = name.rsplit("_", 1)
    kernel = int(size.split("x")[0])
    if kind == "sep_conv":  # the separable convolution twice, only the first one strided
        return nn.Sequential(*depthwise_separable(c, kernel, stride, kernel // 2, 1, affine),
                             *depthwise_separable(c, kernel, 1, kernel // 2, 1, affine))
    if kind == "dil_conv":  # dilation 2, padded to keep the size
        return nn.Sequential(*depthwise_separable(c, kernel, stride, kernel - 1, 2, affine))
    raise ValueError(f"unknown operation {name}")


def drop_path(x, drop):
    """DARTS's drop-path: each image's path zeroed with probability drop, the rest scaled."""
    keep = 1.0 - drop
    mask = torch.bernoulli(torch.full((x.size(0), 1, 1, 1), keep, device=x.device))
    return x * mask / keep


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier on the cell at 2L/3; its second convolution spans the pooled
    features (2x2 on CIFAR's 8x8, 1x1 on Fashion-MNIST's 7x7), as in hpcnas."""

    def __init__(self, c, size, classes):
        super().__init__()
        pool = min(5, size)
        pooled = (size - pool) // 3 + 1
        self.features = nn.Sequential(
            nn.ReLU(), nn.AvgPool2d(pool, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(),
            nn.Conv2d(128, 768, pooled, bias=False), nn.BatchNorm2d(768), nn.ReLU())
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class MixedEdge(nn.Module):
    """A supernet edge: the sum of every candidate weighted by its softmax(alpha)."""

    def __init__(self, c, stride):
        super().__init__()
        candidates = []
        for name in CANDIDATES:
            op = operation(name, c, stride, affine=False)
            if name.endswith("pool_3x3"):
                op = nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
            candidates.append(op)
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.candidates))


class Cell(nn.Module):
    """A cell of C channels per node. With genes (a cell type of a genotype) the discrete cell;
    without, the supernet cell with a mixed edge from every earlier state to every node."""

    def __init__(self, c_prev_prev, c_prev, c, reduction, reduction_prev, genes=None):
        super().__init__()
        affine = genes is not None
        self.reduction = reduction
        self.genes = genes
        self.pre0 = (FactorizedReduce(c_prev_prev, c, affine) if reduction_prev
                     else relu_conv_bn(c_prev_prev, c, affine))
        self.pre1 = relu_conv_bn(c_prev, c, affine)

        def stride(source):  # a reduction cell halves the size on the edges from its inputs
            return 2 if reduction and source < 2 else 1

        if genes is None:
            self.edges = nn.ModuleList(MixedEdge(c, stride(source))
                                       for node in range(INTERMEDIATE_NODES)
                                       for source in range(2 + node))
        else:
            self.edges = nn.ModuleList(operation(name, c, stride(source), affine=True)
                                       for name, source in genes)

    def forward(self, s0, s1, edge_weights=None, drop=0.0):
        states = [self.pre0(s0), self.pre1(s1)]
        edge = 0
        for _ in range(INTERMEDIATE_NODES):
            if self.genes is None:
                node = sum(self.edges[edge + source](state, edge_weights[edge + source])
                           for source, state in enumerate(states))
                edge += len(states)
            else:
                node = 0
                for k in (0, 1):
                    op = self.edges[edge + k]
                    y = op(states[self.genes[edge + k][1]])
                    if drop > 0 and not isinstance(op, nn.Identity):
                        y = drop_path(y, drop)
                    node = node + y
                edge += 2
            states.append(node)
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    """DARTS's network; the supernet when genotype is None."""

    def __init__(self, in_channels, c=16, classes=10, layers=8, genotype=None, size=None):
        super().__init__()
        stem_channels = STEM_MULTIPLIER * c
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels))
        c_prev_prev, c_prev, c_cell = stem_channels, stem_channels, c
        reduction_prev = False
        self.cells = nn.ModuleList()
        self.auxiliary = None
        self.drop = 0.0
        for layer in range(layers):
            reduction = layer in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cell *= 2
                if size is not None:
                    size = (size + 1) // 2
            genes = None if genotype is None else genotype["reduce" if reduction else "normal"]
            self.cells.append(Cell(c_prev_prev, c_prev, c_cell, reduction, reduction_prev, genes))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, INTERMEDIATE_NODES * c_cell
            if size is not None and layer == 2 * layers // 3:
                self.auxiliary_after = layer
                self.auxiliary = AuxiliaryHead(c_prev, size, classes)
        self.head = nn.Linear(c_prev, classes)
        self.supernet = genotype is None
        if self.supernet:
            edges = sum(2 + node for node in range(INTERMEDIATE_NODES))
            self.alpha_normal = nn.Parameter(1e-3 * torch.randn(edges, len(CANDIDATES)))
            self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(edges, len(CANDIDATES)))

    def alphas(self):
        return [self.alpha_normal, self.alpha_reduce] if self.supernet else []

    def weights(self):
        alphas = {id(a) for a in self.alphas()}
        return [p for p in self.parameters() if id(p) not in alphas]

    def forward(self, x):
        """Logits; with an auxiliary head in training, (logits, auxiliary logits)."""
        normal = reduce = None
        if self.supernet:
            normal, reduce = F.softmax(self.alpha_normal, dim=-1), F.softmax(self.alpha_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        auxiliary = None
        for layer, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal, self.drop)
            if self.auxiliary is not None and self.training and layer == self.auxiliary_after:
                auxiliary = self.auxiliary(s1)
        logits = self.head(F.adaptive_avg_pool2d(s1, 1).flatten(1))
        return logits if auxiliary is None else (logits, auxiliary)


def fashion_mnist(folder="/usr/share/datasets/fashion-mnist"):
    """The training images, normalised by their mean and deviation, as hpcnas keeps them."""
    with gzip.open(f"{folder}/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{folder}/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    return (x - x.mean()) / x.std(), torch.from_numpy(labels.astype(np.int64))


def augment(images, padding=2):
    """Per image, as a data loader's transforms do: a random crop after zero padding, and a
    horizontal flip with probability 1/2."""
    padded = F.pad(images, (padding,) * 4)
    size = images.size(-1)
    out = torch.empty_like(images)
    for i in range(images.size(0)):
        top, left = torch.randint(0, 2 * padding + 1, (2,)).tolist()
        crop = padded[i, :, top:top + size, left:left + size]
        out[i] = crop.flip(-1) if torch.rand(()) < 0.5 else crop
    return out


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("supernet", "child", "final"), default="supernet")
    parser.add_argument("--order", type=int, choices=(1, 2), default=1,
                        help="supernet: first- or second-order DARTS step")
    parser.add_argument("--batch", type=int, default=16, help="images per batch")
    parser.add_argument("--threads", type=int, default=2, help="torch's intra-op threads")
    parser.add_argument("--steps", type=int, default=5, help="timed steps, after one warm-up")
    parser.add_argument("--input", default="3x32x32", help="CxHxW, e.g. 1x28x28 (Fashion-MNIST)")
    parser.add_argument("--channels", type=int, default=16, help="C")
    parser.add_argument("--layers", type=int, default=8, help="L")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    args = parser.parse_args()
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def unrolled_alpha_gradients(net, weight_optimizer, train, val, lr, radius=0.01):
    """The second-order architecture gradient of DARTS: dL_val(w', a)/da minus lr times the
    finite-difference Hessian-vector product, at w' = w - lr (momentum buffer x 0.9 + dL_train/dw
    + 3e-4 w)."""
    weights, alphas = net.weights(), net.alphas()
    backup = [w.detach().clone() for w in weights]
    grads = torch.autograd.grad(F.cross_entropy(net(train[0]), train[1]), weights)
    with torch.no_grad():
        for w, g in zip(weights, grads):
            buffer = weight_optimizer.state.get(w, {}).get("momentum_buffer")
            moment = 0.9 * buffer if buffer is not None else 0.0
            w.sub_(lr * (moment + g + 3e-4 * w))
    both = torch.autograd.grad(F.cross_entropy(net(val[0]), val[1]), alphas + weights)
    d_alpha, d_weights = both[:len(alphas)], both[len(alphas):]
    eps = radius / torch.cat([g.flatten() for g in d_weights]).norm()
    differences = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            for w, b, d in zip(weights, backup, d_weights):
                w.copy_(b + sign * eps * d)
        differences.append(torch.autograd.grad(F.cross_entropy(net(train[0]), train[1]), alphas))
    with torch.no_grad():
        for w, b in zip(weights, backup):
            w.copy_(b)
    return [d - lr * (p - m) / (2 * eps) for d, p, m in zip(d_alpha, *differences)]


def main():
    args = parse_arguments()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = tuple(int(v) for v in args.input.split("x"))
    final = args.mode == "final"
    net = Network(shape[0], args.channels, CLASSES, args.layers,
                  None if args.mode == "supernet" else DARTS_V2,
                  size=shape[1] if final else None).to(args.device)
    if final:
        net.drop = 0.2
    lr = 0.05 if final else 0.025
    weight_optimizer = torch.optim.SGD(net.weights(), lr=lr, momentum=0.9, weight_decay=3e-4)
    alpha_optimizer = (torch.optim.Adam(net.alphas(), lr=3e-4, betas=(0.5, 0.999),
                                        weight_decay=1e-3) if net.supernet else None)
    def batch():
        return (torch.randn(args.batch, *shape, device=args.device),
                torch.randint(0, CLASSES, (args.batch,), device=args.device))

    (train_x, train_y), (val_x, val_y) = batch(), batch()
    if final:
        images, labels = fashion_mnist()
        order = torch.randperm(images.size(0))
    # GPU kernels run asynchronously: a step ends when its kernels have.
    synchronize = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    def step(index):
        if alpha_optimizer is not None:
            alpha_optimizer.zero_grad()
            if args.order == 1:  # the alphas' gradient at the current weights
                F.cross_entropy(net(val_x), val_y).backward()
            else:
                for a, g in zip(net.alphas(), unrolled_alpha_gradients(
                        net, weight_optimizer, (train_x, train_y), (val_x, val_y), lr)):
                    a.grad = g
            alpha_optimizer.step()
        weight_optimizer.zero_grad()
        if final:
            rows = order[index * args.batch:(index + 1) * args.batch]
            logits, auxiliary = net(augment(images[rows]))
            y = labels[rows]
            loss = F.cross_entropy(logits, y) + 0.4 * F.cross_entropy(auxiliary, y)
        else:
            loss = F.cross_entropy(net(train_x), train_y)
        loss.backward()
        nn.utils.clip_grad_norm_(net.weights(), 5.0)
        weight_optimizer.step()
        synchronize()

    step(0)  # warm-up: allocations and first-call costs are not part of a step
    seconds = []
    for index in range(1, args.steps + 1):
        start = time.perf_counter()
        step(index)
        seconds.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peer mode={args.mode} order={args.order} device={args.device} batch={args.batch} "
          f"threads={args.threads} input={args.input} "
          f"median_step_s={statistics.median_high(seconds):.4f} min={min(seconds):.4f} "
          f"max={max(seconds):.4f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
