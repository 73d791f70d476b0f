#!/usr/bin/python3
"""The PyTorch eager reference of scripts/bench.sh: the step hpcnas times, written as a Python
DARTS implementation writes it, so that the two can be timed side by side.

  --mode child     one SGD step (momentum 0.9, weight decay 3e-4, gradients clipped to norm 5)
                   of the discrete network of DARTS_V2, the cell the DARTS paper published
  --mode supernet  one first-order DARTS search step: an architecture step (Adam on the alphas)
                   on a validation batch, then the weight step above on a training batch

The networks are DARTS's: a stem (3x3 convolution to 3C channels, BatchNorm), L cells of 4
intermediate nodes with reduction cells at L/3 and 2L/3, global average pooling and a linear
head. In the supernet every edge mixes the 8 candidate operations by softmax(alpha), and its
BatchNorms have no affine parameters; pooling there is followed by BatchNorm.

It times STEPS steps after one warm-up step and prints one line, which scripts/bench.sh reads:
  peer mode=M batch=B threads=T input=CxHxW median_step_s=X min=X max=X
Runs under Debian's python3-torch:  /usr/bin/python3 bench/torch_peer.py --mode child
"""
import argparse
import statistics
import time

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

    def forward(self, s0, s1, edge_weights=None):
        states = [self.pre0(s0), self.pre1(s1)]
        edge = 0
        for _ in range(INTERMEDIATE_NODES):
            if self.genes is None:
                node = sum(self.edges[edge + source](state, edge_weights[edge + source])
                           for source, state in enumerate(states))
                edge += len(states)
            else:
                node = sum(self.edges[edge + k](states[self.genes[edge + k][1]]) for k in (0, 1))
                edge += 2
            states.append(node)
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    """DARTS's network; the supernet when genotype is None."""

    def __init__(self, in_channels, c=16, classes=10, layers=8, genotype=None):
        super().__init__()
        stem_channels = STEM_MULTIPLIER * c
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels))
        c_prev_prev, c_prev, c_cell = stem_channels, stem_channels, c
        reduction_prev = False
        self.cells = nn.ModuleList()
        for layer in range(layers):
            reduction = layer in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cell *= 2
            genes = None if genotype is None else genotype["reduce" if reduction else "normal"]
            self.cells.append(Cell(c_prev_prev, c_prev, c_cell, reduction, reduction_prev, genes))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, INTERMEDIATE_NODES * c_cell
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
        normal = reduce = None
        if self.supernet:
            normal, reduce = F.softmax(self.alpha_normal, dim=-1), F.softmax(self.alpha_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, reduce if cell.reduction else normal)
        return self.head(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("supernet", "child"), default="supernet")
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


def main():
    args = parse_arguments()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = tuple(int(v) for v in args.input.split("x"))
    net = Network(shape[0], args.channels, CLASSES, args.layers,
                  None if args.mode == "supernet" else DARTS_V2).to(args.device)
    weight_optimizer = torch.optim.SGD(net.weights(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    alpha_optimizer = (torch.optim.Adam(net.alphas(), lr=3e-4, betas=(0.5, 0.999),
                                        weight_decay=1e-3) if net.supernet else None)
    def batch():
        return (torch.randn(args.batch, *shape, device=args.device),
                torch.randint(0, CLASSES, (args.batch,), device=args.device))

    (train_x, train_y), (val_x, val_y) = batch(), batch()
    # GPU kernels run asynchronously: a step ends when its kernels have.
    synchronize = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    def step():
        if alpha_optimizer is not None:  # first order: the alphas' gradient at the current weights
            alpha_optimizer.zero_grad()
            F.cross_entropy(net(val_x), val_y).backward()
            alpha_optimizer.step()
        weight_optimizer.zero_grad()
        F.cross_entropy(net(train_x), train_y).backward()
        nn.utils.clip_grad_norm_(net.weights(), 5.0)
        weight_optimizer.step()
        synchronize()

    step()  # warm-up: allocations and first-call costs are not part of a step
    seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    print(f"peer mode={args.mode} device={args.device} batch={args.batch} threads={args.threads} "
          f"input={args.input} "
          f"median_step_s={statistics.median_high(seconds):.4f} min={min(seconds):.4f} "
          f"max={max(seconds):.4f}")


if __name__ == "__main__":
    main()
