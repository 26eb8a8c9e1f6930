"""The standard workloads in JAX: jax.jit, float64, on the CPU.

The model mlp-ebm(d, h) on one sample x in R^d:

    a1 = softplus(W1 x + b1),  a2 = softplus(W2 a1 + b2),  E(x) = w3 . a2 + b3

with g = grad_x E and H its Hessian in x. Batches are jax.vmap over samples;
a Hessian-vector product H v is jax.jvp of the input gradient (forward over
reverse). The per-sample objective terms, averaged over the batch:

    esm     -tr H(x) + |g|^2 / 2          tr H by d HVPs, vmap over the basis vectors
    ssm     -v.Hv + (v.g)^2 / 2           one Gaussian v per sample
    ssm-vr  -v.Hv + |g|^2 / 2
    dsm     |s(x + sigma eps) + eps / sigma|^2 / 2,  s = -g,  sigma = 0.1
    rm      sum_j sigmoid(E(x) - E(flip_j x))^2      on bits, flip_j: x_j -> 1 - x_j

Each objective workload returns the loss J and dJ/dtheta (jax.value_and_grad).
A train-* call is one jitted step: the next minibatch, fresh noise from
jax.random, J and dJ/dtheta, and a hand-written Adam update; the parameters,
Adam's moments and the step count carry over from call to call.
"""
import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402  (after the x64 switch, which must come first)

import inputs  # noqa: E402
from spec import (  # noqa: E402
    ADAM_BETA1, ADAM_BETA2, ADAM_EPS, ADAM_LR, DATA_SEED, ROSENBROCK, SIGMA, SIZES, TRAIN_ROWS,
    TRAIN_WORKLOADS, objective_of,
)


def energy(theta, x):
    a1 = jax.nn.softplus(theta["W1"] @ x + theta["b1"])
    a2 = jax.nn.softplus(theta["W2"] @ a1 + theta["b2"])
    return theta["w3"] @ a2 + theta["b3"]


input_grad = jax.grad(energy, argnums=1)


def grad_and_hvp(theta, x, v):
    """(g, H v) at x: forward mode through the reverse-mode input gradient."""
    return jax.jvp(lambda y: input_grad(theta, y), (x,), (v,))


def esm_term(theta, x):
    basis = jnp.eye(x.shape[0], dtype=x.dtype)
    # g does not depend on the basis vector, so vmap returns it once (out_axes None).
    g, hessian_columns = jax.vmap(lambda e: grad_and_hvp(theta, x, e), out_axes=(None, 0))(basis)
    return -jnp.trace(hessian_columns) + 0.5 * (g @ g)


def ssm_term(theta, x, v):
    g, hv = grad_and_hvp(theta, x, v)
    return -(v @ hv) + 0.5 * (v @ g) ** 2


def ssm_vr_term(theta, x, v):
    g, hv = grad_and_hvp(theta, x, v)
    return -(v @ hv) + 0.5 * (g @ g)


def dsm_term(theta, x, eps):
    score = -input_grad(theta, x + SIGMA * eps)
    r = score + eps / SIGMA
    return 0.5 * (r @ r)


def rm_term(theta, bits):
    # Row j of |bits - I| is bits with bit j flipped.
    flips = jnp.abs(bits[None, :] - jnp.eye(bits.shape[0], dtype=bits.dtype))
    flipped_energies = jax.vmap(energy, in_axes=(None, 0))(theta, flips)
    return jnp.sum(jax.nn.sigmoid(energy(theta, bits) - flipped_energies) ** 2)


# objective -> (per-sample term, names of its per-sample inputs in inputs.batch)
TERMS = {
    "esm": (esm_term, ("x",)),
    "ssm": (ssm_term, ("x", "v")),
    "ssm-vr": (ssm_vr_term, ("x", "v")),
    "dsm": (dsm_term, ("x", "eps")),
    "rm": (rm_term, ("bits",)),
}


def batch_loss(objective):
    """J(theta, *data) = mean over the batch of the objective's per-sample term."""
    term, names = TERMS[objective]
    per_sample = jax.vmap(term, in_axes=(None,) + (0,) * len(names))
    return lambda theta, *data: jnp.mean(per_sample(theta, *data))


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def as_jax(arrays):
    return {name: jnp.asarray(a) for name, a in arrays.items()}


def batch_program(workload, size):
    """(jitted function, its arguments) for one call of a batch workload."""
    d, h, rows = SIZES[size]
    theta = as_jax(inputs.initial_params(d, h))
    data = as_jax(inputs.batch(d, rows))
    if workload == "grad":  # E and g for every sample
        f = jax.vmap(jax.value_and_grad(energy, argnums=1), in_axes=(None, 0))
        return jax.jit(f), (theta, data["x"])
    if workload == "hvp":  # H v for every sample
        f = jax.vmap(lambda th, x, v: grad_and_hvp(th, x, v)[1], in_axes=(None, 0, 0))
        return jax.jit(f), (theta, data["x"], data["v"])
    _, names = TERMS[workload]
    f = jax.value_and_grad(batch_loss(workload))
    return jax.jit(f), (theta,) + tuple(data[n] for n in names)


def rosenbrock_program():
    """(gradient, H v) of Rosenbrock's function at the classic start, in one call."""
    x, v = inputs.rosenbrock_point()
    f = lambda x, v: jax.jvp(jax.grad(rosenbrock), (x,), (v,))  # noqa: E731
    return jax.jit(f), (jnp.asarray(x), jnp.asarray(v))


def train_call(workload, size):
    """A zero-argument call that makes one Adam step and returns (new parameters, loss)."""
    objective = objective_of(workload)
    d, h, rows = SIZES[size]
    training_rows = jnp.asarray(inputs.training_set(d, binary=objective == "rm"))
    loss = batch_loss(objective)
    needs_noise = objective in ("ssm", "ssm-vr", "dsm")
    key = jax.random.PRNGKey(DATA_SEED)

    def step(state):
        theta, m, v, t = state
        x = jax.lax.dynamic_slice_in_dim(training_rows, (t * rows) % TRAIN_ROWS, rows)
        data = (x, jax.random.normal(jax.random.fold_in(key, t), x.shape, x.dtype)) if needs_noise else (x,)
        value, g = jax.value_and_grad(loss)(theta, *data)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: ADAM_BETA1 * m + (1 - ADAM_BETA1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: ADAM_BETA2 * v + (1 - ADAM_BETA2) * g * g, v, g)
        m_scale, v_scale = 1 - ADAM_BETA1 ** t, 1 - ADAM_BETA2 ** t  # bias corrections

        def update(p, m, v):
            return p - ADAM_LR * (m / m_scale) / (jnp.sqrt(v / v_scale) + ADAM_EPS)

        theta = jax.tree_util.tree_map(update, theta, m, v)
        return (theta, m, v, t), value

    jitted = jax.jit(step, donate_argnums=0)  # the old state is not kept, as in a training loop
    theta = as_jax(inputs.initial_params(d, h))
    def zeros():  # a fresh buffer each: the step donates m and v separately
        return jax.tree_util.tree_map(jnp.zeros_like, theta)

    state = [(theta, zeros(), zeros(), jnp.asarray(0))]

    def call():
        state[0], value = jitted(state[0])
        return state[0][0], value  # one program computes the whole state: waiting on these waits on all

    return call


def build(workload, size):
    """(call, sync, cost): call() runs one call of the cell; sync(result) waits
    for it; cost() is XLA's cost analysis of the compiled program (or None)."""
    if workload in TRAIN_WORKLOADS:
        return train_call(workload, size), jax.block_until_ready, None
    program, args = rosenbrock_program() if workload == ROSENBROCK else batch_program(workload, size)

    def cost():
        analysis = program.lower(*args).compile().cost_analysis()
        if isinstance(analysis, (list, tuple)):  # older jax: one dict per device
            analysis = analysis[0]
        return {"xla_flops": float(analysis.get("flops", float("nan"))),
                "xla_bytes_accessed": float(analysis.get("bytes accessed", float("nan")))}

    return (lambda: program(*args)), jax.block_until_ready, cost


def versions():
    import jaxlib
    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}
