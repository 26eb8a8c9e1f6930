"""The standard workloads, as data: names, sizes and constants.

One definition of the benchmark that both the peers (jax_peer.py,
torch_peer.py) and the runner (compare.py) read. Standard library only, so
compare.py runs on any Python 3 without the peers' virtual environment.
The maths of each workload is written out in docs/performance.md
("The workloads") and in the docstrings of jax_peer.py.
"""

# size -> (d, h, B): input dimension, hidden width, batch rows.
SIZES = {"S": (2, 64, 128), "M": (16, 128, 128), "L": (64, 256, 128)}

# One call over a batch of B samples; the objectives also return dJ/dtheta.
BATCH_WORKLOADS = ["grad", "hvp", "esm", "ssm", "ssm-vr", "dsm", "rm"]

# One call = one Adam step on the next minibatch of a fixed training set.
TRAIN_WORKLOADS = ["train-esm", "train-ssm", "train-dsm", "train-rm"]

# No batch and no size: gradient and one HVP of Rosenbrock's function.
ROSENBROCK = "rosenbrock"
ROSENBROCK_N = 100
ROSENBROCK_SIZE_LABEL = "n100"  # what both sides report as the "size" of this cell

WORKLOADS = BATCH_WORKLOADS + [ROSENBROCK] + TRAIN_WORKLOADS

SIGMA = 0.1  # dsm noise scale
TRAIN_ROWS = 8192  # rows of the training set; step k uses rows [(k B) mod TRAIN_ROWS, +B)
ADAM_LR, ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 1e-3, 0.9, 0.999, 1e-8

PARAM_SEED = 12345
DATA_SEED = 67890

FRAMEWORKS = ["jax", "torch", "torch-autograd"]


def all_cells():
    """Every (workload, size) of the comparison, in table order."""
    cells = [(w, s) for w in BATCH_WORKLOADS for s in SIZES]
    cells.append((ROSENBROCK, "S"))  # the size is ignored by both sides
    cells += [(w, s) for w in TRAIN_WORKLOADS for s in SIZES]
    return cells


def objective_of(workload):
    """'train-esm' -> 'esm'; a batch objective is its own objective."""
    return workload[len("train-"):] if workload.startswith("train-") else workload


def size_label(workload, size):
    return ROSENBROCK_SIZE_LABEL if workload == ROSENBROCK else size
