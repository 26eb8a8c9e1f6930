//! The forward Laplacian against the d-HVP Hessian trace, in `f64`: for every
//! primitive (with its own rule, and with the rule derived from its JVP), for
//! every model, and for the exact score-matching loss and its parameter
//! gradient; and nested, against finite differences: the parameter gradient of
//! a Laplacian, and the Laplacian of a gradient's component.

#[macro_use]
mod common;

use common::*;
use proptest::prelude::*;
use scoretape::model::{
    Activation, Boltzmann, Energy, LinearExpFamily, MlpEnergy, Model, QuadraticEnergy,
};
use scoretape::objective::{
    exact_score_matching_value_and_grad, exact_score_matching_value_and_grad_with_trace,
    exact_score_matching_with_trace, ExactTrace,
};
use scoretape::random::{normal_tensor, seeded};
use scoretape::tape::ops::{
    Add, Concat, Div, Elementwise, MatMul, Mul, Primitive, RowsGram, RowsMatMul, Sub, SumTo, Tanh,
    Transpose,
};
use scoretape::tape::{forward_laplacian, Jet, SumOfSquares};
use scoretape::tensor::broadcast_shapes;
use scoretape::{
    batched_hessian_trace, batched_laplacian, grad, hessian_trace, laplacian, Tape, Tensor, Var,
};

/// `|a - b| ≤ 1e-12 · max(|a|, |b|, 1)`: agreement to 1e-12 relative (absolute
/// below 1, where the two sums of many terms may both be near zero).
fn assert_agree(a: f64, b: f64, what: &str) -> Result<(), TestCaseError> {
    let tolerance = 1e-12 * a.abs().max(b.abs()).max(1.0);
    prop_assert!(
        (a - b).abs() <= tolerance,
        "{what}: forward Laplacian {a} vs Hessian trace {b} (difference {:e})",
        (a - b).abs()
    );
    Ok(())
}

/// Records `args` as slices of one flat input `x`, applies `f`, and checks
/// that the Laplacian in `x` of the scalar `Σ sin(f(args))` (curved, so that
/// linear primitives meet a nonzero second derivative) equals its Hessian
/// trace, and that the Laplacian of every element of `f(args)` equals that
/// element's Hessian trace.
fn check_laplacian(
    f: impl for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
    args: &[Tensor<f64>],
) -> Result<(), TestCaseError> {
    let tape = Tape::new();
    let flat: Vec<f64> = args.iter().flat_map(|a| a.data().to_vec()).collect();
    let x = tape.input(Tensor::vector(&flat));
    let mut start = 0;
    let vars: Vec<Var<'_, f64>> = args
        .iter()
        .map(|a| {
            let part = x.slice(0, start, start + a.len()).reshape(a.shape());
            start += a.len();
            part
        })
        .collect();
    let z = f(&vars);
    let y = z.sin().sum();
    assert_agree(
        laplacian(y, x).unwrap().item(),
        hessian_trace(y, x).unwrap().item(),
        "Σ sin(f)",
    )?;
    let per_element = laplacian(z, x).unwrap();
    prop_assert_eq!(per_element.shape(), z.shape());
    let n = z.value().len();
    let flat_z = z.reshape(&[n]);
    for (i, &value) in per_element.to_vec().iter().enumerate() {
        let element = flat_z.slice(0, i, i + 1).sum();
        assert_agree(value, hessian_trace(element, x).unwrap().item(), "element")?;
    }
    Ok(())
}

/// A primitive without a Laplacian rule of its own: the sweep derives one
/// from its JVP rule.
struct Derived<P>(P);

impl<P: Primitive<f64>> Primitive<f64> for Derived<P> {
    fn name(&self) -> String {
        format!("derived {}", self.0.name())
    }
    fn forward(&self, inputs: &[&Tensor<f64>]) -> Tensor<f64> {
        self.0.forward(inputs)
    }
    fn vjp<'t>(
        &self,
        inputs: &[Var<'t, f64>],
        output: Var<'t, f64>,
        cotangent: Var<'t, f64>,
        wanted: &[bool],
    ) -> Vec<Option<Var<'t, f64>>> {
        self.0.vjp(inputs, output, cotangent, wanted)
    }
    fn jvp<'t>(
        &self,
        inputs: &[Var<'t, f64>],
        output: Var<'t, f64>,
        tangents: &[Option<Var<'t, f64>>],
    ) -> Var<'t, f64> {
        self.0.jvp(inputs, output, tangents)
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn add((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
        check_laplacian(|x| x[0] + x[1], &[a, b])?;
    }

    #[test]
    fn sub((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
        check_laplacian(|x| x[0] - x[1], &[a, b])?;
    }

    #[test]
    fn mul((a, b) in broadcast_pair(-2.0..2.0, -2.0..2.0)) {
        check_laplacian(|x| x[0] * x[1], &[a, b])?;
    }

    #[test]
    fn mul_of_a_node_by_itself(a in tensor(-2.0, 2.0)) {
        check_laplacian(|x| x[0] * x[0], &[a])?;
    }

    #[test]
    fn div((a, b) in broadcast_pair(-2.0..2.0, away_from_zero(0.5, 2.0))) {
        check_laplacian(|x| x[0] / x[1], &[a, b])?;
    }

    #[test]
    fn affine(a in tensor(-2.0, 2.0), scale in -2.0..2.0f64, shift in -2.0..2.0f64) {
        check_laplacian(|x| x[0].affine(scale, shift), &[a])?;
    }

    #[test]
    fn exp(a in tensor(-3.0, 3.0)) {
        check_laplacian(|x| x[0].exp(), &[a])?;
    }

    #[test]
    fn log(a in tensor(0.2, 4.0)) {
        check_laplacian(|x| x[0].log(), &[a])?;
    }

    #[test]
    fn log1p(a in tensor(-0.7, 3.0)) {
        check_laplacian(|x| x[0].log1p(), &[a])?;
    }

    #[test]
    fn recip(a in tensor_with(away_from_zero(0.3, 3.0))) {
        check_laplacian(|x| x[0].recip(), &[a])?;
    }

    #[test]
    fn softplus(a in tensor(-6.0, 6.0)) {
        check_laplacian(|x| x[0].softplus(), &[a])?;
    }

    #[test]
    fn sigmoid(a in tensor(-6.0, 6.0)) {
        check_laplacian(|x| x[0].sigmoid(), &[a])?;
    }

    #[test]
    fn log_sigmoid(a in tensor(-6.0, 6.0)) {
        check_laplacian(|x| x[0].log_sigmoid(), &[a])?;
    }

    #[test]
    fn tanh(a in tensor(-3.0, 3.0)) {
        check_laplacian(|x| x[0].tanh(), &[a])?;
    }

    #[test]
    fn sin(a in tensor(-4.0, 4.0)) {
        check_laplacian(|x| x[0].sin(), &[a])?;
    }

    #[test]
    fn cos(a in tensor(-4.0, 4.0)) {
        check_laplacian(|x| x[0].cos(), &[a])?;
    }

    #[test]
    fn sqrt(a in tensor(0.2, 4.0)) {
        check_laplacian(|x| x[0].sqrt(), &[a])?;
    }

    #[test]
    fn square(a in tensor(-3.0, 3.0)) {
        check_laplacian(|x| x[0].square(), &[a])?;
    }

    #[test]
    fn powi(a in tensor_with(away_from_zero(0.4, 2.0)), n in -3i32..=4) {
        check_laplacian(|x| x[0].powi(n), &[a])?;
    }

    #[test]
    fn silu(a in tensor(-5.0, 5.0)) {
        check_laplacian(|x| x[0].silu(), &[a])?;
    }

    #[test]
    fn elu(a in tensor_with(away_from_zero(0.1, 3.0))) {
        check_laplacian(|x| x[0].elu(), &[a])?;
    }

    #[test]
    fn matmul((a, b) in matmul_operands(false, false)) {
        check_laplacian(|x| x[0].matmul(x[1]), &[a, b])?;
    }

    #[test]
    fn matmul_transposed_a((a, b) in matmul_operands(true, false)) {
        check_laplacian(|x| x[0].matmul_t(x[1], true, false), &[a, b])?;
    }

    #[test]
    fn matmul_transposed_b((a, b) in matmul_operands(false, true)) {
        check_laplacian(|x| x[0].matmul_t(x[1], false, true), &[a, b])?;
    }

    #[test]
    fn matmul_transposed_both((a, b) in matmul_operands(true, true)) {
        check_laplacian(|x| x[0].matmul_t(x[1], true, true), &[a, b])?;
    }

    #[test]
    fn matmul_by_a_constant((a, b) in matmul_operands(false, false)) {
        check_laplacian(
            |x| x[0].tanh().matmul(x[0].tape().constant(b.clone())),
            &[a],
        )?;
    }

    #[test]
    fn transpose(a in shape(2, 2).prop_flat_map(|s| tensor_of(s, -2.0..2.0))) {
        check_laplacian(|x| x[0].square().transpose(), &[a])?;
    }

    #[test]
    fn sum_axis((a, axis) in tensor_and_axis(-2.0, 2.0)) {
        check_laplacian(|x| x[0].square().sum_axis(axis), &[a])?;
    }

    #[test]
    fn broadcast_to((a, full) in shape(0, 3).prop_flat_map(|full| {
        (broadcastable_to(full.clone()).prop_flat_map(|s| tensor_of(s, -2.0..2.0)),
         Just(full))
    })) {
        check_laplacian(|x| x[0].square().broadcast_to(&full), &[a])?;
    }

    #[test]
    fn sum_to((a, target) in shape(0, 3).prop_flat_map(|full| {
        (tensor_of(full.clone(), -2.0..2.0), broadcastable_to(full))
    })) {
        check_laplacian(|x| x[0].square().sum_to(&target), &[a])?;
    }

    #[test]
    fn reshape((a, target) in shape(0, 3).prop_flat_map(|s| {
        let n: usize = s.iter().product();
        let reversed: Vec<usize> = s.iter().rev().copied().collect();
        let targets = vec![vec![n], vec![1, n], vec![n, 1], reversed];
        (tensor_of(s, -2.0..2.0), prop::sample::select(targets))
    })) {
        check_laplacian(|x| x[0].square().reshape(&target), &[a])?;
    }

    #[test]
    fn slice((a, axis, start, end) in shape(1, 3).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank)
    }).prop_flat_map(|(s, axis)| {
        let len = s[axis];
        (Just(s), Just(axis), 0..len)
    }).prop_flat_map(|(s, axis, start)| {
        let len = s[axis];
        (tensor_of(s, -2.0..2.0), Just(axis), Just(start), start + 1..=len)
    })) {
        check_laplacian(|x| x[0].square().slice(axis, start, end), &[a])?;
    }

    #[test]
    fn concat((parts, axis) in shape(1, 3).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank, prop::collection::vec(1usize..=3, 2..=3))
    }).prop_flat_map(|(s, axis, lengths)| {
        let parts: Vec<_> = lengths.into_iter().map(|len| {
            let mut part = s.clone();
            part[axis] = len;
            tensor_of(part, -2.0..2.0)
        }).collect();
        (parts, Just(axis))
    })) {
        // The first part is a constant, so one input of the concatenation
        // has no jet.
        check_laplacian(|x| {
            let mut parts: Vec<_> = x.iter().map(|p| p.square()).collect();
            parts[0] = x[0].tape().constant((*x[0].value()).clone());
            Var::concat(&parts, axis)
        }, &parts)?;
    }

    #[test]
    fn gather((a, axis, indices) in shape(1, 3).prop_flat_map(|s| {
        let rank = s.len();
        (Just(s), 0..rank)
    }).prop_flat_map(|(s, axis)| {
        let len = s[axis];
        (tensor_of(s, -2.0..2.0), Just(axis), prop::collection::vec(0..len, 1..=5))
    })) {
        // Gather's adjoint, scatter-add, appears in the gradient, and so in
        // the Laplacian of the gradient's components: both rules are used.
        check_laplacian(|x| {
            let picked = x[0].square().gather(axis, &indices);
            let g = grad((picked * picked).sum(), &[x[0]]).unwrap()[0];
            g * x[0]
        }, &[a])?;
    }

    // Select (the one primitive of the piecewise operations) and the
    // composites on it, away from their kinks.
    #[test]
    fn select_and_piecewise(
        (a, b) in shape(1, 3).prop_flat_map(|s| {
            (tensor_of(s.clone(), away_from_zero(0.2, 2.0)), tensor_of(s, -2.0..2.0))
        }),
    ) {
        let condition: Vec<bool> = a.data().iter().map(|&v| v > 0.0).collect();
        check_laplacian(
            |x| Var::select(&condition, x[0].sin(), x[1].square()),
            &[a.clone(), b.clone()],
        )?;
        check_laplacian(|x| (x[0].abs() * x[1]).relu() + x[0].max(x[1]), &[a.clone(), b])?;
        check_laplacian(|x| x[0].square().logsumexp(0) + x[0].clamp(-0.1, 0.1), &[a])?;
    }

    // The forward Laplacian's own primitive: all its rules, to third order
    // against finite differences, and its Laplacian rule (nested: the
    // Laplacian of a node that holds a Jacobian stack).
    #[test]
    fn sum_of_squares(a in shape(1, 3).prop_flat_map(|s| tensor_of(s, -2.0..2.0))) {
        check_all::<f64, _>(|x| x[0].tape().apply(SumOfSquares, &[x[0]]), std::slice::from_ref(&a))?;
        check_laplacian(|x| x[0].tape().apply(SumOfSquares, &[x[0].sin()]), &[a])?;
    }

    // The row-stack products the MatMul rule uses for its Jacobian stacks.
    #[test]
    fn rows_matmul(
        (x, b, transpose_b) in (shape(0, 2), 1usize..=3, 1usize..=3, any::<bool>())
            .prop_flat_map(|(lead, c, n, transpose_b)| {
                let mut xs = lead;
                xs.push(c);
                let bs = if transpose_b { vec![n, c] } else { vec![c, n] };
                (tensor_of(xs, -2.0..2.0), tensor_of(bs, -2.0..2.0), Just(transpose_b))
            })
    ) {
        let product = RowsMatMul { transpose_b };
        check_all::<f64, _>(|v| v[0].tape().apply(product, &[v[0], v[1]]), &[x.clone(), b.clone()])?;
        check_laplacian(|v| v[0].tape().apply(product, &[v[0].sin(), v[1]]), &[x, b])?;
    }

    #[test]
    fn rows_gram(
        (a, g) in (shape(0, 2), 1usize..=3, 1usize..=3).prop_flat_map(|(lead, c, n)| {
            let mut sa = lead.clone();
            sa.push(c);
            let mut sg = lead;
            sg.push(n);
            (tensor_of(sa, -2.0..2.0), tensor_of(sg, -2.0..2.0))
        })
    ) {
        check_all::<f64, _>(|v| v[0].tape().apply(RowsGram, &[v[0], v[1]]), &[a.clone(), g.clone()])?;
        check_laplacian(|v| v[0].tape().apply(RowsGram, &[v[0].sin(), v[1]]), &[a, g])?;
    }

    #[test]
    fn derived_rules_of_binary_primitives(
        (a, b) in broadcast_pair(-2.0..2.0, away_from_zero(0.5, 2.0)),
        which in 0usize..4,
    ) {
        check_laplacian(|x| {
            let tape = x[0].tape();
            // A primitive applied directly needs one operand of the result's
            // shape (the `Var` operators arrange that themselves).
            let full = broadcast_shapes(&x[0].shape(), &x[1].shape()).unwrap();
            let b = if x[0].shape() == full { x[1] } else { x[1].broadcast_to(&full) };
            let inputs = [x[0].tanh(), b];
            match which {
                0 => tape.apply(Derived(Add), &inputs),
                1 => tape.apply(Derived(Sub), &inputs),
                2 => tape.apply(Derived(Mul), &inputs),
                _ => tape.apply(Derived(Div), &inputs),
            }
        }, &[a, b])?;
    }

    #[test]
    fn derived_rules_of_matmul(
        (a, b) in matmul_operands(true, false),
        transpose_b in any::<bool>(),
    ) {
        let b = if transpose_b { b.transpose() } else { b };
        check_laplacian(|x| {
            let product = MatMul { transpose_a: true, transpose_b };
            let p = x[0].tape().apply(Derived(product), &[x[0].sin(), x[1]]);
            let t = p.tape().apply(Derived(Transpose), &[p]);
            p.tape().apply(Derived(SumTo(vec![t.shape()[1]])), &[t])
        }, &[a, b])?;
    }

    #[test]
    fn derived_rules_of_elementwise_and_concat(a in tensor_of(vec![2, 3], -2.0..2.0)) {
        check_laplacian(|x| {
            let tape = x[0].tape();
            let t = tape.apply(Derived(Elementwise(Tanh)), &[x[0]]);
            tape.apply(Derived(Concat { axis: 1 }), &[t, x[0].square()])
        }, &[a])?;
    }
}

/// A batch `[b, d]` from `N(0, I)`, as `f64`.
fn batch(b: usize, d: usize, seed: u64) -> Tensor<f64> {
    normal_tensor(&[b, d], &mut seeded(seed))
}

/// `model` with every parameter drawn from `N(0, scale²)`, so no structure
/// (a zero mean, an identity precision) can hide an error.
fn randomised<M: Model<f64>>(mut model: M, seed: u64, scale: f64) -> M {
    let mut rng = seeded(seed);
    for value in model.params_mut().values_mut() {
        let draw: Tensor<f64> = normal_tensor(value.shape(), &mut rng);
        *value = draw.map(|v| v * scale);
    }
    model
}

/// Per-sample Laplacians of a model's energies against the batched Hessian
/// traces, and the exact score-matching loss and θ-gradient by both traces.
fn check_model<M: Energy<f64>>(model: &M, x: &Tensor<f64>) -> Result<(), TestCaseError> {
    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xv = tape.input(x.clone());
    let e = model.energy(&params, xv);
    let by_laplacian = batched_laplacian(e, xv).unwrap().to_vec();
    let by_hvps = batched_hessian_trace(e.sum(), xv).unwrap().to_vec();
    for (a, b) in by_laplacian.iter().zip(&by_hvps) {
        assert_agree(*a, *b, "per-sample trace")?;
    }

    let energy = |x| model.energy(&params, x);
    let recorded = |trace| {
        let loss = exact_score_matching_with_trace(&tape, &energy, x, None, trace).unwrap();
        let grads = grad(loss, &params).unwrap();
        (
            loss.item(),
            grads.iter().map(|g| g.to_vec()).collect::<Vec<_>>(),
        )
    };
    let (hvp_loss, hvp_grads) = recorded(ExactTrace::Hvp);
    let (lap_loss, lap_grads) = recorded(ExactTrace::Laplacian);
    assert_agree(lap_loss, hvp_loss, "recorded loss")?;
    for (a, b) in lap_grads.iter().flatten().zip(hvp_grads.iter().flatten()) {
        assert_agree(*a, *b, "θ-gradient of the recorded loss")?;
    }

    let (fast_loss, fast_grads) = exact_score_matching_value_and_grad_with_trace(
        &tape,
        &energy,
        x,
        None,
        &params,
        ExactTrace::Laplacian,
    )
    .unwrap();
    let (slow_loss, slow_grads) =
        exact_score_matching_value_and_grad(&tape, &energy, x, None, &params).unwrap();
    assert_agree(fast_loss, slow_loss, "accumulated loss")?;
    for (a, b) in fast_grads.iter().zip(&slow_grads) {
        for (p, q) in a.data().iter().zip(b.data()) {
            assert_agree(*p, *q, "accumulated θ-gradient")?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(12))]

    #[test]
    fn mlp_with_every_activation(
        activation in prop::sample::select(Activation::ALL.to_vec()),
        d in 1usize..=5,
        seed in 0u64..1000,
    ) {
        let model = MlpEnergy::new(d, &[6, 5], activation, seed).unwrap();
        check_model(&model, &batch(4, d, seed + 1))?;
    }

    // d = 20 spans two groups of the accumulated Laplacian path.
    #[test]
    fn mlp_across_direction_groups(seed in 0u64..1000) {
        let model = MlpEnergy::new(20, &[8], Activation::Silu, seed).unwrap();
        check_model(&model, &batch(3, 20, seed + 1))?;
    }

    #[test]
    fn quadratic(d in 1usize..=5, seed in 0u64..1000) {
        let model = randomised(QuadraticEnergy::new(d).unwrap(), seed, 0.5);
        check_model(&model, &batch(4, d, seed + 1))?;
    }

    #[test]
    fn boltzmann(d in 1usize..=5, seed in 0u64..1000) {
        let model = randomised(Boltzmann::new(d).unwrap(), seed, 0.7);
        check_model(&model, &batch(4, d, seed + 1))?;
    }

    #[test]
    fn exp_family(seed in 0u64..1000) {
        // Features with curvature and products of coordinates: x², sin x,
        // x₀x₁, exp(-x₁²/2).
        let family = LinearExpFamily::new(2, 5, |x: Var<'_, f64>| {
            let (x0, x1) = (x.slice(1, 0, 1), x.slice(1, 1, 2));
            Var::concat(&[x.square(), x0.sin(), x0 * x1, (x1.square() * -0.5).exp()], 1)
        })
        .unwrap();
        let model = randomised(family, seed, 1.0);
        check_model(&model, &batch(5, 2, seed + 1))?;
    }
}

/// `∂/∂θᵢ` of a Laplacian by reverse mode over the recorded jets, against
/// central differences of the Laplacian's value in θ.
#[test]
fn gradient_of_a_laplacian_matches_finite_differences() {
    let model = MlpEnergy::<f64>::new(3, &[5], Activation::Tanh, 7).unwrap();
    let x = batch(2, 3, 8);
    let total_laplacian = |values: &[Tensor<f64>]| {
        let tape = Tape::new();
        let params: Vec<Var<'_, f64>> = values.iter().map(|v| tape.input(v.clone())).collect();
        let xv = tape.input(x.clone());
        let l = batched_laplacian(model.energy(&params, xv), xv)
            .unwrap()
            .sum();
        let g: Vec<Tensor<f64>> = grad(l, &params)
            .unwrap()
            .iter()
            .map(|g| (*g.value()).clone())
            .collect();
        (l.item(), g)
    };
    let values = model.params().values().to_vec();
    let (_, gradient) = total_laplacian(&values);
    let h = 1e-5;
    for (p, g) in gradient.iter().enumerate() {
        for i in 0..g.len() {
            let shifted = |by: f64| {
                let mut v = values.clone();
                v[p].data_mut()[i] += by;
                total_laplacian(&v).0
            };
            let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
            let exact = g.data()[i];
            assert!(
                (fd - exact).abs() <= 1e-7 * exact.abs().max(1.0),
                "parameter {p}[{i}]: reverse mode {exact}, central difference {fd}"
            );
        }
    }
}

/// The Laplacian of a gradient's component `∂ᵢf` equals `∂ᵢ(Δf)` (third
/// derivatives commute): check it against central differences of `Δf` (by
/// HVPs, an independent route) along `xᵢ`.
#[test]
fn laplacian_of_a_gradient_component_matches_finite_differences() {
    fn f(x: Var<'_, f64>) -> Var<'_, f64> {
        let (a, b, c) = (x.slice(0, 0, 1), x.slice(0, 1, 2), x.slice(0, 2, 3));
        ((a * b).sin() * c.exp() + (a.square() + c).tanh() * b.softplus()).sum()
    }
    let point = [0.3, -0.8, 0.5];
    let trace_at = |p: &[f64]| {
        let tape = Tape::new();
        let x = tape.input(Tensor::vector(p));
        hessian_trace(f(x), x).unwrap().item()
    };
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&point));
    let g = grad(f(x), &[x]).unwrap()[0];
    let h = 1e-4;
    for i in 0..3 {
        let component = g.slice(0, i, i + 1).sum();
        let exact = laplacian(component, x).unwrap().item();
        let shifted = |by: f64| {
            let mut p = point;
            p[i] += by;
            trace_at(&p)
        };
        let fd = (shifted(h) - shifted(-h)) / (2.0 * h);
        assert!(
            (fd - exact).abs() <= 1e-7 * exact.abs().max(1.0),
            "∂{i}: Laplacian of the gradient {exact}, central difference {fd}"
        );
    }
}

/// A seed `J = diag(√h)` gives the weighted trace `Σⱼ hⱼ ∂²ⱼf` (what
/// generalized score matching needs), and the jet's Jacobian is then the
/// gradient scaled by `√h`.
#[test]
fn seeded_directions_give_a_weighted_trace() {
    let tape = Tape::new();
    let point: [f64; 2] = [0.4, -1.1];
    let x = tape.input(Tensor::vector(&point));
    let y = (x.sin() * x.slice(0, 1, 2).sum()).sum(); // sin x₀·x₁ + sin x₁·x₁
    let weights: [f64; 2] = [2.0, 0.5];
    let root = Tensor::from_fn(&[2, 2], |k| {
        if k % 3 == 0 {
            weights[k / 3].sqrt()
        } else {
            0.0
        }
    });
    let Jet {
        jacobian,
        laplacian,
    } = forward_laplacian(&[y], x, tape.constant(root)).unwrap()[0];
    let (x0, x1) = (point[0], point[1]);
    // ∂²₀ = -sin x₀·x₁; ∂²₁ = -sin x₁·x₁ + 2 cos x₁.
    let expected = weights[0] * (-x0.sin() * x1) + weights[1] * (-x1.sin() * x1 + 2.0 * x1.cos());
    assert!((laplacian.unwrap().item() - expected).abs() < 1e-14);
    let gradient = [x0.cos() * x1, x0.sin() + x1.sin() + x1 * x1.cos()];
    for (j, (&got, &g)) in jacobian.to_vec().iter().zip(&gradient).enumerate() {
        assert!((got - weights[j].sqrt() * g).abs() < 1e-14);
    }
}

/// Bad directions are a typed error, not a panic.
#[test]
fn directions_of_the_wrong_shape_are_refused() {
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    let y = x.square().sum();
    let wrong = tape.constant(Tensor::zeros(&[2, 3]));
    assert!(matches!(
        forward_laplacian(&[y], x, wrong),
        Err(scoretape::Error::Shape(_))
    ));
    let matrix = tape.input(Tensor::zeros(&[2, 2, 2]));
    assert!(matches!(
        batched_laplacian(matrix.sum(), matrix),
        Err(scoretape::Error::Shape(_))
    ));
}
