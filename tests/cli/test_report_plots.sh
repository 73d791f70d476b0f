#!/usr/bin/env bash
# Self-check of scripts/report_plots.py on the sample run files of tests/fuzz/corpus/run_file
# (two search files, one DARTS, one train), drawn in one call: exit 0, every expected picture a
# PNG, every picture in index.html, report.txt escaped into it, every cell a valid graphviz
# graph of 8 op edges; a search file with measured latency draws both Pareto fronts; a file
# that is not a run file is named on stderr with exit status 2. Usage: test_report_plots.sh
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/tests/cli/harness.sh" # check, finish, PY (Debian's python3, with h5py)
SCRIPT=$ROOT/scripts/report_plots.py
WORK=$(mktemp -d -t hpcnas-report-plots.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1

RUNS=(search_rl search_evolution_failed darts train)
for run in "${RUNS[@]}"; do cp "$ROOT/tests/fuzz/corpus/run_file/$run" "$run.h5"; done
mkdir out
printf 'table <b>&</b>\n' >out/report.txt # stands in for `hpcnas report`'s tables
$PY "$SCRIPT" --out out "${RUNS[@]/%/.h5}" >stdout 2>stderr
check "exit status 0 on the sample files" [ $? -eq 0 ]

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
expected=(search-best-by-evaluation search-best-by-hours search-reward-histogram
  search_rl-timeline search_evolution_failed-timeline
  darts-alpha-normal darts-alpha-reduce darts-skip-connections darts-val-accuracy
  train-curves train-per-class-accuracy)
for run in "${RUNS[@]}"; do expected+=("$run-normal" "$run-reduce"); done
for picture in "${expected[@]}"; do
  check "$picture.png is a PNG" is_png "out/$picture.png"
done
check "index.html written" [ -s out/index.html ]
for png in out/*.png; do
  check "index.html shows $(basename "$png")" grep -q "src=\"$(basename "$png")\"" out/index.html
done
check "report.txt in index.html, escaped" grep -qF 'table &lt;b&gt;&amp;&lt;/b&gt;' out/index.html
check "stdout lists every file written" [ "$(sort stdout)" = "$(printf "%s\n" out/* | grep -vx out/report.txt | sort)" ]
# The sample searches ran the surrogate evaluator, which measures no latency: skipped, said why.
check "Pareto pictures skipped with a reason" grep -q "skipped search-pareto-latency.png" stderr

dots=(out/*.dot)
check "8 dot files" [ ${#dots[@]} -eq 8 ]
for dot in "${dots[@]}"; do
  check "$(basename "$dot") is valid graphviz" dot -Tsvg "$dot" -o /dev/null
  check "$(basename "$dot") has 8 op edges" [ "$(grep -c -- '->.*\[label=' "$dot")" -eq 8 ]
done

# A real search file (measured latency and parameters) draws both fronts.
real=$ROOT/docs/results/fashion-mnist/search.h5
if [ -f "$real" ]; then
  $PY "$SCRIPT" --out real "$real" >/dev/null 2>&1
  check "Pareto fronts of a measured search" is_png real/search-pareto-latency.png
  check "Pareto fronts of a measured search (params)" is_png real/search-pareto-params.png
fi

echo "not a run file" >notes.txt
$PY "$SCRIPT" --out bad search_rl.h5 notes.txt >/dev/null 2>bad.err
check "a text file exits 2" [ $? -eq 2 ]
check "one line on stderr naming it" [ "$(wc -l <bad.err)" -eq 1 ]
check "the line names the file" grep -q "notes.txt" bad.err
check "nothing drawn" [ ! -e bad ]

finish
