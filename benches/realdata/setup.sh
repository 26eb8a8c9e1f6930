#!/usr/bin/env bash
# Makes target/realdata-venv with the pinned requirements of the real-data
# table (numpy, scipy, scikit-learn) from PyPI, and builds the release
# scoretape binary the table measures. Run from anywhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
venv=target/realdata-venv
if [[ ! -x $venv/bin/python ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r benches/realdata/requirements.txt
cargo build --release --features cli
echo "ready: $venv/bin/python benches/realdata/realdata.py"
