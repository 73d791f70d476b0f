#!/usr/bin/env bash
# `hpcnas report` as a user meets it: two surrogate searches of different strategies, a DARTS and
# a train run file, reported at once as tables, CSV and JSON; --plots draws every picture with
# index.html and valid graphviz cells; a damaged or foreign file is one line and exit 2.
# usage: test_report.sh HPCNAS MPIEXEC SOURCE_DIR
set -u
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
CORPUS=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../fuzz/corpus/run_file")
enter_scratch "$1" "$2"
search() { timeout 300 "$MPIEXEC" -n 3 --oversubscribe "$HPCNAS" search --evaluator surrogate \
  --budget 40 --seed 3 "$@" >/dev/null 2>&1; }
search --strategy random --out random.h5
search --strategy evolution --population 8 --sample 3 --out evolution.h5
cp "$CORPUS/darts" darts.h5
cp "$CORPUS/train" train.h5
files=(random.h5 evolution.h5 darts.h5 train.h5)

"$HPCNAS" report "${files[@]}" --top 3 >report.md 2>err.txt
check "report exits 0" [ $? -eq 0 ]
for heading in "## random.h5 (search)" "## evolution.h5 (search)" "## darts.h5 (darts)" \
  "## train.h5 (train)" "## comparison" "### Best genotypes by reward" \
  "### Evaluations by status" "### Pareto front: validation accuracy against latency" \
  "### Test accuracy per class" "### Last epochs" "### Search files compared"; do
  check "report has '$heading'" grep -qF "$heading" report.md
done
check "strategy stated" grep -q "^- strategy: evolution" report.md
check "the comparison counts evaluations to the target" grep -q "evaluations_to_target" report.md

"$HPCNAS" report "${files[@]}" --json >report.json 2>err.txt
check "--json exits 0" [ $? -eq 0 ]
check "--json is one JSON document with every file and the comparison" $PY - report.json <<'PY'
import json, sys
reports = json.load(open(sys.argv[1]))["reports"]
kinds = [r["kind"] for r in reports]
assert kinds == ["search", "search", "darts", "train", "comparison"], kinds
random = reports[0]
assert random["facts"]["evaluations"] == 40, random["facts"]
assert len(random["tables"]["top"]) == 5 and random["tables"]["top"][0]["reward"] >= random["tables"]["top"][1]["reward"]
assert sum(s["count"] for s in random["tables"]["statuses"]) == 40
assert all(isinstance(row["evaluations_to_target"], int) for row in reports[4]["tables"]["comparison"])
PY
"$HPCNAS" report "${files[@]}" --csv >report.csv 2>err.txt
check "--csv exits 0" [ $? -eq 0 ]
check "--csv heads each table" grep -q "^# evolution.h5: top$" report.csv

"$HPCNAS" report "${files[@]}" --plots pictures >/dev/null 2>err.txt
check "--plots exits 0" [ $? -eq 0 ]
check "--plots writes index.html with the tables" grep -q "Search files compared" pictures/index.html
for picture in search-best-by-evaluation search-best-by-hours search-reward-histogram \
  random-timeline evolution-timeline darts-alpha-normal darts-alpha-reduce \
  darts-skip-connections train-curves train-per-class-accuracy \
  random-normal random-reduce darts-normal darts-reduce train-normal train-reduce; do
  check "picture $picture.png" $PY -c "import sys; sys.exit(open(sys.argv[1],'rb').read(8) != b'\x89PNG\r\n\x1a\n')" "pictures/$picture.png"
  check "index.html shows $picture.png" grep -q "$picture.png" pictures/index.html
done
for dot in pictures/*.dot; do
  check "$(basename "$dot") is valid graphviz" dot -Tsvg "$dot" -o /dev/null
done

echo "not hdf5" >foreign.h5
"$HPCNAS" report random.h5 foreign.h5 >out.txt 2>err.txt
check "a foreign file exits 2" [ $? -eq 2 ]
check "a foreign file is one line naming it" [ "$(grep -c foreign.h5 err.txt)" -eq 1 ]
cp "$CORPUS/regression-hdf5-h5a-close-segv" crash.h5
"$HPCNAS" report crash.h5 >out.txt 2>err.txt
check "a file that crashes HDF5 exits 2" [ $? -eq 2 ]
check "a file that crashes HDF5 is one line" [ "$(grep -c "'crash.h5' is damaged" err.txt)" -eq 1 ]
finish
