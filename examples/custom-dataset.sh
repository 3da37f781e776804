#!/usr/bin/env bash
# A dataset of your own: any CSV with a `time` column and numeric columns works; choose what to forecast
# with --targets (env TARGETS). Here: hourly electricity load with temperature as a driver.
#   bash examples/custom-dataset.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FLTS=${FLTS:-"node bin/run.js"}
export FLTS_HOME=${FLTS_HOME:-.flts-energy}
export EPOCHS=${EPOCHS:-3} HIDDEN_SIZE=${HIDDEN_SIZE:-32}
data="$FLTS_HOME/energy-data"

node examples/custom/generate-energy.mjs "$data"
$FLTS preprocess --train "$data/energy.csv" --test "$data/energy_test.csv"
# A 24-hour input window and a 6-hour horizon: eval ranks on all six steps together; each run's run.json has them
# per forecast step too (metrics.test.targets.load_mw.perStep).
$FLTS train --model NAIVE,LSTM --targets load_mw --input-seq-len 24 --output-seq-len 6
$FLTS eval
