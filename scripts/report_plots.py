#!/usr/bin/python3
"""Draws what hpcnas run files hold: PNG pictures, graphviz cells and an index.html.

Usage: report_plots.py --out DIR RUN.h5 [RUN2.h5 ...]

Reads the run files only. Writes to DIR (<stem>: a run file's name less its extension, -2, -3,
... added when two files share one):
  search-best-by-evaluation.png, search-best-by-hours.png: best reward so far against
      evaluations and against hours, search-reward-histogram.png, search-pareto-latency.png,
      search-pareto-params.png: val_accuracy against latency_ms or params, the front joined
      (all search files together, one line or colour each)
  <stem>-timeline.png: per search file, one row per rank, a bar per evaluation
  <stem>-alpha-normal.png, <stem>-alpha-reduce.png: per DARTS file, softmax(alpha) per edge
      and op over epochs; <stem>-skip-connections.png, <stem>-val-accuracy.png: per epoch
  <stem>-curves.png: per train file, loss and accuracy per epoch;
      <stem>-per-class-accuracy.png: test accuracy per class (when /test exists)
  <stem>-normal.dot/.png, <stem>-reduce.dot/.png: per file, the cells of its genotype
      (search: the best ok row's; DARTS: the last epoch's; train: the trained one)
  index.html: every picture with a heading and a caption, below DIR/report.txt when it exists
A picture without data is skipped with a line on stderr. A file that is not an hpcnas run file
is named on stderr and the exit status is 2, before anything is drawn. Prints the files written.
"""
import argparse
import ast
import html
import os
import subprocess
import sys
import urllib.parse
from types import SimpleNamespace

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

TABLES = {"search": "evaluations", "darts": "darts/epochs", "train": "epochs"}
FAILED_COLOURS = ["tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "black"]
SEARCH_SECTION = "Search runs"
HOURS_LABEL = "hours since the first evaluation started"


def warn(message):
    print(f"report_plots.py: {message}", file=sys.stderr)


def integer_ticks(nbins="auto"):
    # min_n_ticks=1: a one-epoch run still gets its integer tick, not fractions around it.
    return MaxNLocator(nbins=nbins, integer=True, min_n_ticks=1)


def label_axes(ax, xlabel, ylabel, legend=True):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.set_axisbelow(True)
    if legend:
        ax.legend()


# ---------------------------------------------------------------- reading
def read_table(group):
    """Every 1-D column of a group, strings decoded."""
    return {name: (ds.asstr()[:] if h5py.check_string_dtype(ds.dtype) else ds[:])
            for name, ds in group.items() if isinstance(ds, h5py.Dataset) and ds.ndim == 1}


def read_run(path):
    """The run file's contents, or the reason it is not an hpcnas run file."""
    if not os.path.isfile(path):
        return "no such file"
    try:
        f = h5py.File(path, "r")
    except OSError:
        return "not an HDF5 file"
    with f:
        if "schema_version" not in f.attrs:
            return "HDF5, but not an hpcnas run file (no schema_version on /)"
        kind = f.attrs.get("kind", "search")
        if kind not in TABLES or TABLES[kind] not in f:
            return f"hpcnas run file of unknown kind '{kind}' or without /{TABLES.get(kind, '')}"
        run = SimpleNamespace(path=path, kind=kind, table=read_table(f[TABLES[kind]]),
                              attrs={k: f.attrs[k] for k in f.attrs})
        if kind == "darts":
            run.alpha = {cell: (f[f"darts/alpha_{cell}"][:],
                                f[f"darts/alpha_{cell}"].attrs.get("ops", "").split(","))
                         for cell in ("normal", "reduce") if f"darts/alpha_{cell}" in f}
        if kind == "train":
            per_class = f.get("test/per_class_accuracy")
            run.per_class = per_class[:] if per_class is not None else None
        return run


def unique_stems(paths):
    """File names less their extension; a repeated one gets -2, -3, ... (final.h5 of two runs)."""
    stems = []
    for path in paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        candidate, n = stem, 1
        while candidate in stems:
            n += 1
            candidate = f"{stem}-{n}"
        stems.append(candidate)
    return stems


# ---------------------------------------------------------------- output
class Report:
    """The files written so far, and the pictures by section for the index."""

    def __init__(self, out):
        self.out, self.written, self.sections = out, [], {}

    def path(self, name):
        return os.path.join(self.out, name)

    def add(self, section, name, heading, caption, extra_html=""):
        self.sections.setdefault(section, []).append((name, heading, caption, extra_html))

    def figure(self, section, fig, name, heading, caption):
        fig.savefig(self.path(name), dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.written.append(name)
        self.add(section, name, heading, caption)

    def write_index(self):
        parts = ['<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>hpcnas report</title>',
                 "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}",
                 "img{max-width:100%} pre{background:#f4f4f4;padding:1em;overflow-x:auto}",
                 "</style></head><body>", "<h1>hpcnas report</h1>"]
        if os.path.exists(self.path("report.txt")):
            with open(self.path("report.txt"), encoding="utf-8", errors="replace") as f:
                parts.append(f"<pre>{html.escape(f.read())}</pre>")
        for section, pictures in self.sections.items():
            parts.append(f"<h2>{html.escape(section)}</h2>")
            for name, heading, caption, extra_html in pictures:
                parts += [f"<h3>{html.escape(heading)}</h3>",
                          f"<p>{html.escape(caption)}{extra_html}</p>",
                          f'<img src="{urllib.parse.quote(name)}" alt="{html.escape(heading)}">']
        with open(self.path("index.html"), "w", encoding="utf-8") as f:
            f.write("\n".join(parts + ["</body></html>\n"]))
        self.written.append("index.html")


# ---------------------------------------------------------------- search files
def best_so_far(reward, ok):
    """Running maximum of the ok rewards; NaN before the first ok row."""
    return np.fmax.accumulate(np.where(ok, reward, np.nan))


def plot_best(report, runs, by_hours):
    name = f"search-best-by-{'hours' if by_hours else 'evaluation'}.png"
    fig, ax = plt.subplots(figsize=(8, 4.5))
    drawn = False
    for run in runs:
        t = run.table
        ok = t["status"] == "ok"
        if len(ok) < 2 or not ok.any():
            warn(f"{name}: left out {run.path}: fewer than two evaluations or none ok")
            continue
        if by_hours:
            order = np.argsort(t["finished"], kind="stable")  # trainers finish out of arrival order
            x = (t["finished"][order] - t["started"].min()) / 3600
            y = best_so_far(t["reward"][order], ok[order])
        else:
            x, y = np.arange(1, len(ok) + 1), best_so_far(t["reward"], ok)
        ax.plot(x, y, drawstyle="steps-post", label=run.stem)
        drawn = True
    if not drawn:
        plt.close(fig)
        return warn(f"skipped {name}: no search file with two evaluations, one of them ok")
    label_axes(ax, HOURS_LABEL if by_hours else "evaluations", "best reward so far")
    heading = f"Best reward by {'hours' if by_hours else 'evaluations'}"
    order = "by finish time" if by_hours else "in the order rank 0 received them"
    report.figure(SEARCH_SECTION, fig, name, heading,
                  f"Highest reward of an ok evaluation so far; evaluations {order}.")


def plot_reward_histogram(report, runs):
    rewards = {run.stem: run.table["reward"][run.table["status"] == "ok"] for run in runs}
    rewards = {stem: r for stem, r in rewards.items() if len(r)}
    if not rewards:
        return warn("skipped search-reward-histogram.png: no ok evaluations")
    bins = np.histogram_bin_edges(np.concatenate(list(rewards.values())), bins=20)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for stem, r in rewards.items():
        ax.hist(r, bins=bins, alpha=0.5 if len(rewards) > 1 else 1, label=stem)
    label_axes(ax, "reward", "evaluations")
    report.figure(SEARCH_SECTION, fig, "search-reward-histogram.png", "Reward distribution",
                  "Rewards of the ok evaluations, one colour per run file.")


def pareto_front(cost, accuracy):
    """Indices of the non-dominated points by increasing cost: each beats every cheaper one."""
    front, best = [], -np.inf
    for i in np.lexsort((-accuracy, cost)):
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return front


def plot_pareto(report, runs, column, label):
    name = f"search-pareto-{'latency' if column == 'latency_ms' else column}.png"
    fig, ax = plt.subplots(figsize=(8, 5))
    left_out = []
    for colour, run in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10, runs):
        t = run.table
        # The surrogate evaluator measures neither latency nor parameters: it writes 0.
        keep = (t["status"] == "ok") & (t[column] > 0)
        if not keep.any():
            left_out.append(run.path)
            continue
        cost, accuracy = t[column][keep].astype(float), t["val_accuracy"][keep]
        front = pareto_front(cost, accuracy)
        ax.scatter(cost, accuracy, s=12, alpha=0.4, color=colour, label=f"{run.stem}: ok rows")
        ax.plot(cost[front], accuracy[front], "o-", color=colour, label=f"{run.stem}: front")
    if len(left_out) == len(runs):
        plt.close(fig)
        return warn(f"skipped {name}: no ok evaluation with measured {column}")
    if left_out:
        warn(f"{name}: left out {', '.join(left_out)}: no ok evaluation with measured {column}")
    label_axes(ax, label, "val_accuracy")
    report.figure(SEARCH_SECTION, fig, name, f"Pareto front: accuracy against {label}",
                  "Every ok evaluation; joined: those that no other beats in both accuracy "
                  f"and {label}.")


def plot_timeline(report, run):
    t, name = run.table, f"{run.stem}-timeline.png"
    timed = t["finished"] >= t["started"]
    if not timed.any():
        return warn(f"skipped {name}: no timed evaluations")
    t0 = t["started"].min()
    failed = sorted(set(t["status"][timed]) - {"ok"})
    colours = dict(zip(failed, FAILED_COLOURS * 2), ok="tab:blue")
    ranks = np.unique(t["rank"][timed])
    # Bars at least 0.3% of the run wide, so instantaneous evaluations (surrogate, forced
    # failures) show; white edges part back-to-back evaluations on one rank.
    min_width = max(t["finished"][timed].max() - t0, 1e-9) * 0.003 / 3600
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.4 * len(ranks)))
    for status in ["ok"] + failed:
        rows = timed & (t["status"] == status)
        if rows.any():
            width = np.maximum((t["finished"][rows] - t["started"][rows]) / 3600, min_width)
            ax.barh(t["rank"][rows], width, left=(t["started"][rows] - t0) / 3600, height=0.7,
                    color=colours[status], edgecolor="white", linewidth=0.3, label=status)
    ax.set_yticks(ranks)
    label_axes(ax, HOURS_LABEL, "rank", legend=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    report.figure(run.section, fig, name, "Worker timeline",
                  "One row per rank, one bar per evaluation from started to finished; "
                  "failed statuses in their own colours.")


def best_genotype(run):
    """The genotype of the best ok row and a caption, or None and why there is none."""
    t = run.table
    ok = np.flatnonzero(t["status"] == "ok")
    if not len(ok):
        return None, "no ok evaluations"
    best = ok[np.argmax(t["reward"][ok])]
    return (t["genotype"][best],
            f"Best ok evaluation: id {t['id'][best]}, reward {t['reward'][best]:.4f}")


# ---------------------------------------------------------------- cells
def parse_genotype(genotype):
    """{cell: (edges, concat)} from DARTS genotype text; None when it does not parse."""
    try:
        call = ast.parse(genotype.strip(), mode="eval").body
        fields = {kw.arg: kw.value for kw in call.keywords}
        cells = {}
        for cell in ("normal", "reduce"):
            edges = [(str(op), int(j)) for op, j in ast.literal_eval(fields[cell])]
            concat = fields.get(f"{cell}_concat")
            if isinstance(concat, ast.Call) and getattr(concat.func, "id", "") == "range":
                concat = list(range(*(ast.literal_eval(a) for a in concat.args)))
            elif concat is not None:
                concat = [int(j) for j in ast.literal_eval(concat)]
            cells[cell] = (edges, concat or list(range(2, 2 + len(edges) // 2)))
        return cells
    except (SyntaxError, ValueError, KeyError, TypeError, AttributeError):
        return None


def node_name(j):
    return ["c_{k-2}", "c_{k-1}"][j] if j < 2 else str(j - 2)


def dot_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cell_dot(edges, concat):
    """Graphviz text of one cell: inputs, intermediate nodes, op-labelled edges, output."""
    lines = ["digraph cell {", "  rankdir=LR;", '  edge [fontsize=20, fontname="times"];',
             '  node [style=filled, shape=rect, align=center, fontsize=20, height=0.5, width=0.5,'
             ' penwidth=2, fontname="times"];',
             '  "c_{k-2}" [fillcolor=darkseagreen2];', '  "c_{k-1}" [fillcolor=darkseagreen2];']
    lines += [f'  "{i}" [fillcolor=lightblue];' for i in range(len(edges) // 2)]
    lines += [f'  {dot_string(node_name(j))} -> "{k // 2}" [label={dot_string(op)}];'
              for k, (op, j) in enumerate(edges)]
    lines.append('  "c_{k}" [fillcolor=palegoldenrod];')
    lines += [f'  {dot_string(node_name(j))} -> "c_{{k}}";' for j in concat]
    return "\n".join(lines + ["}", ""])


def draw_cells(report, run, genotype, source):
    """Both cells of a genotype; `source` says where it came from, or why there is none."""
    cells = parse_genotype(genotype) if genotype else None
    if cells is None:
        why = "genotype does not parse" if genotype else source
        return warn(f"skipped {run.stem}-normal.png and {run.stem}-reduce.png: {why}")
    for cell, (edges, concat) in cells.items():
        dot, png = f"{run.stem}-{cell}.dot", f"{run.stem}-{cell}.png"
        with open(report.path(dot), "w", encoding="utf-8") as f:
            f.write(cell_dot(edges, concat))
        report.written.append(dot)
        try:
            done = subprocess.run(["dot", "-Tpng", report.path(dot), "-o", report.path(png)],
                                  capture_output=True, text=True)
        except FileNotFoundError:
            warn(f"skipped {png}: graphviz's dot is not installed")
            continue
        if done.returncode:
            warn(f"skipped {png}: dot failed: {done.stderr.strip()}")
            continue
        report.written.append(png)
        link = f' (graphviz: <a href="{urllib.parse.quote(dot)}">{html.escape(dot)}</a>)'
        report.add(run.section, png, f"{cell.capitalize()} cell", f"{source}.", link)


# ---------------------------------------------------------------- DARTS files
def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def plot_alpha(report, run, cell):
    name = f"{run.stem}-alpha-{cell}.png"
    alpha, ops = run.alpha.get(cell, (np.zeros((0, 0, 0)), []))
    nodes = next((n for n in range(1, 16) if n * (n + 3) // 2 == alpha.shape[1]), None)
    if alpha.shape[0] == 0 or nodes is None or len(ops) != alpha.shape[2]:
        return warn(f"skipped {name}: no alpha of a known edge layout")
    probs = softmax(alpha)
    first = run.table["epoch"][0] if len(run.table["epoch"]) else 0
    extent = (first - 0.5, first + len(probs) - 0.5, len(ops) - 0.5, -0.5)
    # Row = intermediate node, column = its input: the edges in supernet order, one panel each.
    fig, axes = plt.subplots(nodes, nodes + 1, figsize=(3 * (nodes + 1), 2.2 * nodes),
                             squeeze=False, constrained_layout=True)
    edge = 0
    for i in range(nodes):
        for j in range(nodes + 1):
            ax = axes[i][j]
            if j >= i + 2:
                ax.axis("off")
                continue
            image = ax.imshow(probs[:, edge, :].T, aspect="auto", interpolation="nearest",
                              vmin=0, vmax=probs.max(), cmap="viridis", extent=extent)
            source = f"${node_name(j)}$" if j < 2 else f"node {j - 2}"
            ax.set_title(f"{source} → node {i}", fontsize=9)
            ax.set_yticks(range(len(ops)))
            ax.set_yticklabels(ops if j == 0 else [], fontsize=7)
            ax.xaxis.set_major_locator(integer_ticks(nbins=4))
            ax.tick_params(axis="x", labelsize=7)
            ax.set_xlabel("epoch" if i == nodes - 1 else "", fontsize=8)
            edge += 1
    fig.colorbar(image, ax=axes, shrink=0.6, label="softmax(α)")
    report.figure(run.section, fig, name, f"Architecture weights, {cell} cell",
                  f"softmax(α) of each op (rows) on each edge of the {cell} cell, per epoch "
                  "(columns); one panel per edge, by the node it feeds and the input it reads.")


def plot_epoch_column(report, run, column, name, heading, ylabel, count=False):
    t, name = run.table, f"{run.stem}-{name}.png"
    if not len(t[column]):
        return warn(f"skipped {name}: no epochs")
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(t["epoch"], t[column], "o-", drawstyle="steps-mid" if count else "default")
    label_axes(ax, "epoch", ylabel, legend=False)
    ax.xaxis.set_major_locator(integer_ticks())
    if count:
        ax.yaxis.set_major_locator(integer_ticks())
        ax.set_ylim(bottom=0)
    report.figure(run.section, fig, name, heading, f"{ylabel.capitalize()} per epoch.")


# ---------------------------------------------------------------- train files
def plot_curves(report, run):
    t, name = run.table, f"{run.stem}-curves.png"
    if not len(t["epoch"]):
        return warn(f"skipped {name}: no epochs")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, measure in zip(axes, ("loss", "accuracy")):
        for split in ("train", "test", "holdout"):
            values = t.get(f"{split}_{measure}")
            if values is not None and np.any(values != 0):  # holdout is 0 without --holdout
                ax.plot(t["epoch"], values, "o-", markersize=3, label=split)
        label_axes(ax, "epoch", measure)
        ax.xaxis.set_major_locator(integer_ticks())
    report.figure(run.section, fig, name, "Training curves",
                  "Loss and accuracy per epoch on the training, test and (when held out) "
                  "holdout data.")


def plot_per_class(report, run):
    name, accuracy = f"{run.stem}-per-class-accuracy.png", run.per_class
    if accuracy is None or not len(accuracy):
        return warn(f"skipped {name}: no /test (training did not finish)")
    colours = ["tab:blue"] * len(accuracy)
    colours[int(np.argmin(accuracy))] = "tab:red"
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(range(len(accuracy)), accuracy, color=colours)
    if "test_accuracy" in run.attrs:
        overall = float(run.attrs["test_accuracy"])
        ax.axhline(overall, color="gray", linestyle="--", label=f"test accuracy {overall:.4f}")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), frameon=False)
    ax.set_xticks(range(len(accuracy)))
    ax.set_ylim(0, 1)
    label_axes(ax, "class", "test accuracy", legend=False)
    report.figure(run.section, fig, name, "Test accuracy per class",
                  "Accuracy of the final model on each test class; the worst in red.")


# ---------------------------------------------------------------- main
def draw_search(report, run):
    plot_timeline(report, run)
    draw_cells(report, run, *best_genotype(run))


def draw_darts(report, run):
    for cell in ("normal", "reduce"):
        plot_alpha(report, run, cell)
    plot_epoch_column(report, run, "normal_skip_connections", "skip-connections",
                      "Skip connections", "skip connections in the normal cell", count=True)
    plot_epoch_column(report, run, "val_accuracy", "val-accuracy", "Validation accuracy",
                      "validation accuracy")
    t = run.table
    last = f"Genotype after epoch {t['epoch'][-1]}" if len(t["epoch"]) else "no epochs"
    draw_cells(report, run, t["genotype"][-1] if len(t["genotype"]) else None, last)


def draw_train(report, run):
    plot_curves(report, run)
    plot_per_class(report, run)
    genotype = run.attrs.get("genotype")
    draw_cells(report, run, genotype, "The trained genotype" if genotype else "no genotype on /")


def main():
    parser = argparse.ArgumentParser(description="Draws what hpcnas run files hold.")
    parser.add_argument("--out", required=True, help="folder for the pictures and index.html")
    parser.add_argument("runs", nargs="+", metavar="RUN.h5")
    args = parser.parse_args()
    runs = [read_run(path) for path in args.runs]
    bad = [(path, run) for path, run in zip(args.runs, runs) if isinstance(run, str)]
    for path, reason in bad:
        warn(f"{path}: {reason}")
    if bad:
        return 2
    for run, stem in zip(runs, unique_stems(args.runs)):
        run.stem, run.section = stem, f"{stem}: {run.path} ({run.kind})"  # stems are unique
    os.makedirs(args.out, exist_ok=True)
    report = Report(args.out)
    searches = [run for run in runs if run.kind == "search"]
    if searches:
        plot_best(report, searches, by_hours=False)
        plot_best(report, searches, by_hours=True)
        plot_reward_histogram(report, searches)
        plot_pareto(report, searches, "latency_ms", "latency (ms)")
        plot_pareto(report, searches, "params", "parameters")
    for run in runs:
        {"search": draw_search, "darts": draw_darts, "train": draw_train}[run.kind](report, run)
    report.write_index()
    for name in report.written:
        print(report.path(name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
