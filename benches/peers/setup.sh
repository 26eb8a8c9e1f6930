#!/usr/bin/env bash
# Installs the peers (benches/peers/requirements.txt: numpy, JAX and PyTorch for
# the CPU) into a virtual environment inside the repository's ignored target/
# folder, then checks them with check.py.
#
#   bash benches/peers/setup.sh            # venv in target/peers-venv
#   bash benches/peers/setup.sh DIR        # venv in DIR instead
#
# Needs python3 with its venv module (Debian: apt-get install python3-venv) and
# about 6 GB of disk: PyPI's torch wheel for Linux pulls NVIDIA's CUDA libraries,
# which the peers never load. Takes a few minutes. compare.py finds the venv by
# itself; elsewhere, point PEERS_PY at DIR/bin/python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${1:-$repo/target/peers-venv}"

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" "$here/check.py" --sizes S
echo "peers installed in $venv"
