"""The standard workloads in PyTorch, float64, on the CPU, in two styles.

The maths is that of jax_peer.py (model, objectives, Adam); see its docstring.

- "torch": torch.func, written per sample as in JAX: vmap over the batch,
  H v as jvp of the input gradient (forward over reverse), dJ/dtheta by
  grad_and_value.
- "torch-autograd": plain batched autograd, as most PyTorch code is written:
  the input gradient with create_graph=True, H v and tr H by double backward
  (reverse over reverse; tr H takes d of them), dJ/dtheta by autograd.grad.

A train-* call is one step of torch.optim.Adam on the next minibatch with
fresh noise from a seeded torch.Generator; the "torch" style hands the
torch.func gradient to the optimiser, "torch-autograd" calls backward().
"""
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)  # torch.func's import of torch.jit warns

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.func import grad, grad_and_value, jvp, vmap  # noqa: E402

import inputs  # noqa: E402
from spec import (  # noqa: E402
    ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_LR, DATA_SEED, ROSENBROCK, SIGMA, SIZES, TRAIN_ROWS,
    TRAIN_WORKLOADS, objective_of,
)

torch.set_default_dtype(torch.float64)


def energy(theta, x):
    """E for one sample x: (d,) -> (), or for a stack of them: (..., d) -> (...)."""
    a1 = F.softplus(F.linear(x, theta["W1"], theta["b1"]))
    a2 = F.softplus(F.linear(a1, theta["W2"], theta["b2"]))
    return a2 @ theta["w3"] + theta["b3"]


def flipped(bits):
    """[..., d] bits -> [..., d, d]: row j has bit j flipped (|bits - e_j|)."""
    return (bits.unsqueeze(-2) - torch.eye(bits.shape[-1])).abs()


def rosenbrock(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


# ---------------------------------------------------------------- torch.func, per sample

def input_grad(theta, x):
    return grad(energy, argnums=1)(theta, x)


def grad_and_hvp(theta, x, v):
    return jvp(lambda y: input_grad(theta, y), (x,), (v,))


def esm_term(theta, x):
    basis = torch.eye(x.shape[-1])
    # g does not depend on the basis vector; vmap still returns it once per row.
    g_rows, hessian_columns = vmap(lambda e: grad_and_hvp(theta, x, e))(basis)
    return -torch.trace(hessian_columns) + 0.5 * (g_rows[0] @ g_rows[0])


def ssm_term(theta, x, v):
    g, hv = grad_and_hvp(theta, x, v)
    return -(v @ hv) + 0.5 * (v @ g) ** 2


def ssm_vr_term(theta, x, v):
    g, hv = grad_and_hvp(theta, x, v)
    return -(v @ hv) + 0.5 * (g @ g)


def dsm_term(theta, x, eps):
    r = -input_grad(theta, x + SIGMA * eps) + eps / SIGMA
    return 0.5 * (r @ r)


def rm_term(theta, bits):
    return torch.sum(torch.sigmoid(energy(theta, bits) - energy(theta, flipped(bits))) ** 2)


FUNC_TERMS = {"esm": esm_term, "ssm": ssm_term, "ssm-vr": ssm_vr_term, "dsm": dsm_term, "rm": rm_term}


def func_loss(objective, data_count):
    per_sample = vmap(FUNC_TERMS[objective], in_dims=(None,) + (0,) * data_count)
    return lambda theta, *data: per_sample(theta, *data).mean()


# ---------------------------------------------------------------- plain autograd, batched

def input_grad_graph(theta, x):
    """(x as a leaf, g = dE/dx for every row) with g's graph kept for a second backward."""
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(energy(theta, x).sum(), x, create_graph=True)
    return x, g


def esm_loss(theta, x):
    x, g = input_grad_graph(theta, x)
    trace = 0.0
    for i in range(x.shape[1]):  # column i of H, one double backward each; keep its diagonal entry
        (column,) = torch.autograd.grad(g[:, i].sum(), x, create_graph=True)
        trace = trace + column[:, i]
    return (-trace + 0.5 * (g * g).sum(1)).mean()


def ssm_loss(theta, x, v, variance_reduced=False):
    x, g = input_grad_graph(theta, x)
    (hv,) = torch.autograd.grad((g * v).sum(), x, create_graph=True)
    second = (g * g).sum(1) if variance_reduced else (v * g).sum(1) ** 2
    return (-(v * hv).sum(1) + 0.5 * second).mean()


def dsm_loss(theta, x, eps):
    _, g = input_grad_graph(theta, x + SIGMA * eps)
    r = -g + eps / SIGMA
    return 0.5 * (r * r).sum(1).mean()


def rm_loss(theta, bits):
    gaps = energy(theta, bits).unsqueeze(1) - energy(theta, flipped(bits))  # [B, d]
    return (torch.sigmoid(gaps) ** 2).sum(1).mean()


AUTOGRAD_LOSSES = {
    "esm": esm_loss,
    "ssm": ssm_loss,
    "ssm-vr": lambda theta, x, v: ssm_loss(theta, x, v, variance_reduced=True),
    "dsm": dsm_loss,
    "rm": rm_loss,
}

# objective -> names of its inputs in inputs.batch
DATA_NAMES = {"esm": ("x",), "ssm": ("x", "v"), "ssm-vr": ("x", "v"), "dsm": ("x", "eps"), "rm": ("bits",)}


def loss_of(style, objective):
    if style == "torch":
        return func_loss(objective, len(DATA_NAMES[objective]))
    return AUTOGRAD_LOSSES[objective]


def value_and_param_grad(style, objective):
    """(theta, *data) -> (J, dJ/dtheta as a dict)."""
    loss = loss_of(style, objective)
    if style == "torch":
        return lambda theta, *data: tuple(reversed(grad_and_value(loss)(theta, *data)))

    def value_and_grad(theta, *data):
        value = loss(theta, *data)
        # b3 cancels out of every objective, so its gradient is unused (zero).
        grads = torch.autograd.grad(value, list(theta.values()), allow_unused=True)
        return value.detach(), {k: torch.zeros_like(p) if gk is None else gk
                                for (k, p), gk in zip(theta.items(), grads)}

    return value_and_grad


# ---------------------------------------------------------------- the cells

def as_torch(arrays, requires_grad=False):
    return {k: torch.from_numpy(a.copy()).requires_grad_(requires_grad) for k, a in arrays.items()}


def batch_call(style, workload, size):
    d, h, rows = SIZES[size]
    data = as_torch(inputs.batch(d, rows))
    x, v = data["x"], data["v"]
    if workload in ("grad", "hvp"):
        theta = as_torch(inputs.initial_params(d, h))
        if style == "torch":
            if workload == "grad":  # (E, g) for every sample
                f = vmap(grad_and_value(energy, argnums=1), in_dims=(None, 0))
                return lambda: tuple(reversed(f(theta, x)))
            f = vmap(lambda th, x, v: grad_and_hvp(th, x, v)[1], in_dims=(None, 0, 0))
            return lambda: f(theta, x, v)
        if workload == "grad":
            def grad_call():
                leaf = x.detach().requires_grad_(True)
                e = energy(theta, leaf)
                (g,) = torch.autograd.grad(e.sum(), leaf)
                return e.detach(), g
            return grad_call

        def hvp_call():
            leaf, g = input_grad_graph(theta, x)
            (hv,) = torch.autograd.grad((g * v).sum(), leaf)
            return hv
        return hvp_call
    theta = as_torch(inputs.initial_params(d, h), requires_grad=style == "torch-autograd")
    f = value_and_param_grad(style, workload)
    args = tuple(data[n] for n in DATA_NAMES[workload])
    return lambda: f(theta, *args)


def rosenbrock_call(style):
    x, v = (torch.from_numpy(a) for a in inputs.rosenbrock_point())
    if style == "torch":
        return lambda: jvp(grad(rosenbrock), (x,), (v,))

    def call():  # (gradient, H v) by double backward
        leaf = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(rosenbrock(leaf), leaf, create_graph=True)
        (hv,) = torch.autograd.grad(g @ v, leaf)
        return g.detach(), hv
    return call


def train_call(style, workload, size):
    objective = objective_of(workload)
    d, h, rows = SIZES[size]
    training_rows = torch.from_numpy(inputs.training_set(d, binary=objective == "rm"))
    noise = torch.Generator().manual_seed(DATA_SEED)
    needs_noise = objective in ("ssm", "ssm-vr", "dsm")
    theta = as_torch(inputs.initial_params(d, h), requires_grad=True)
    optimiser = torch.optim.Adam(theta.values(), lr=ADAM_LR, betas=(ADAM_BETA1, ADAM_BETA2), eps=ADAM_EPS)
    loss = loss_of(style, objective)
    steps = [0]

    def call():
        start = (steps[0] * rows) % TRAIN_ROWS
        x = training_rows[start:start + rows]
        data = (x, torch.randn(x.shape, generator=noise)) if needs_noise else (x,)
        optimiser.zero_grad(set_to_none=True)
        if style == "torch":
            grads, value = grad_and_value(loss)({k: p.detach() for k, p in theta.items()}, *data)
            for k, p in theta.items():
                p.grad = grads[k]
        else:
            value = loss(theta, *data)
            value.backward()
        optimiser.step()
        steps[0] += 1
        return theta, value.detach()

    return call


def build(style, workload, size):
    """(call, sync, cost) as jax_peer.build; PyTorch on the CPU is synchronous."""
    if workload in TRAIN_WORKLOADS:
        call = train_call(style, workload, size)
    elif workload == ROSENBROCK:
        call = rosenbrock_call(style)
    else:
        call = batch_call(style, workload, size)
    return call, (lambda result: result), None


def versions():
    return {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
