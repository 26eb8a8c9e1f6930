//! Models as the closures on tensors that the samplers and estimators take.
//!
//! Each call records the model on a fresh tape (parameters as constants), reads
//! the result out, and drops the tape, so a closure can be called any number of
//! times with bounded memory.

use crate::error::Error;
use crate::model::{Energy, Model, Params, Score, Support};
use crate::real::Real;
use crate::tape::{grad, Tape, Var};
use crate::tensor::Tensor;
use alloc::format;
use alloc::vec::Vec;

/// The energies `E(x_b)` (`[n]`) of an energy model at a batch `x` (`[n, d]`).
///
/// # Errors (of the returned closure)
///
/// [`Error::Shape`] if `x` is not `[n, model.dim()]` or the model does not
/// return `[n]` energies.
///
/// ```
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::sample::energy_fn;
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(2).unwrap(); // N(0, I): E = ½‖x‖²
/// let e = energy_fn(&model)(&Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap()).unwrap();
/// assert!((e.data()[0] - 2.5).abs() < 1e-12);
/// ```
///
/// A trait object works too, such as `AnyModel::as_energy()` returns with the
/// `io` feature, so a caller need not match on every kind of model:
///
/// ```
/// use scoretape::model::{Energy, QuadraticEnergy};
/// use scoretape::sample::energy_fn;
/// use scoretape::Tensor;
/// let model: Box<dyn Energy<f64>> = Box::new(QuadraticEnergy::new(1).unwrap());
/// let e = energy_fn(model.as_ref())(&Tensor::from_rows(&[vec![2.0]]).unwrap()).unwrap();
/// assert!((e.item() - 2.0).abs() < 1e-12);
/// ```
pub fn energy_fn<'m, T, M>(model: &'m M) -> impl Fn(&Tensor<T>) -> Result<Tensor<T>, Error> + 'm
where
    T: Real,
    M: Energy<T> + ?Sized,
{
    move |x| {
        let n = check_input(x, model.dim())?;
        let tape = Tape::new();
        let params = constants(&tape, model.params());
        let e = model.energy(&params, tape.constant(x.clone()));
        check_energies(&e.value(), n)?;
        Ok((*e.value()).clone())
    }
}

/// The energies (`[n]`) and scores `s(x_b) = -∇x E(x_b)` (`[n, d]`) of an
/// energy model at a batch, as [`mala`](super::mala) takes them.
///
/// # Errors (of the returned closure)
///
/// As [`energy_fn`]; also [`Error::InvalidData`] for a model of binary data
/// ([`Support::Binary`], the [`Boltzmann`](crate::model::Boltzmann) machine),
/// which has no score on `ℝᵈ`: sample it with [`gibbs`](super::gibbs).
///
/// ```
/// use scoretape::model::Boltzmann;
/// use scoretape::sample::energy_score_fn;
/// use scoretape::{Error, Tensor};
/// let bits = Boltzmann::<f64>::new(2).unwrap();
/// let refused = energy_score_fn(&bits)(&Tensor::zeros(&[1, 2]));
/// assert!(matches!(refused, Err(Error::InvalidData(_))));
/// ```
///
/// ```
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::sample::energy_score_fn;
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(2).unwrap(); // N(0, I): s = -x
/// let (e, s) = energy_score_fn(&model)(&Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap()).unwrap();
/// assert!((e.data()[0] - 2.5).abs() < 1e-12);
/// assert!(s.max_abs_diff(&Tensor::from_rows(&[vec![-1.0, -2.0]]).unwrap()) < 1e-12);
/// ```
#[allow(clippy::type_complexity)]
pub fn energy_score_fn<'m, T, M>(
    model: &'m M,
) -> impl Fn(&Tensor<T>) -> Result<(Tensor<T>, Tensor<T>), Error> + 'm
where
    T: Real,
    M: Energy<T> + ?Sized,
{
    move |x| {
        refuse_binary(model)?;
        let n = check_input(x, model.dim())?;
        let tape = Tape::new();
        let params = constants(&tape, model.params());
        let xv = tape.input(x.clone());
        let e = model.energy(&params, xv);
        check_energies(&e.value(), n)?;
        let g = grad(e.sum(), &[xv])?[0];
        Ok(((*e.value()).clone(), g.value().map(|v| -v)))
    }
}

/// The scores `s(x_b) = -∇x E(x_b)` (`[n, d]`) of an energy model, as
/// [`langevin`](super::langevin) takes them.
///
/// # Errors (of the returned closure)
///
/// As [`energy_score_fn`] (a binary model is refused).
///
/// ```
/// use scoretape::model::QuadraticEnergy;
/// use scoretape::sample::score_fn;
/// use scoretape::Tensor;
/// let model = QuadraticEnergy::<f64>::new(1).unwrap();
/// let s = score_fn(&model)(&Tensor::from_rows(&[vec![3.0]]).unwrap()).unwrap();
/// assert!((s.item() + 3.0).abs() < 1e-12);
/// ```
pub fn score_fn<'m, T, M>(model: &'m M) -> impl Fn(&Tensor<T>) -> Result<Tensor<T>, Error> + 'm
where
    T: Real,
    M: Energy<T> + ?Sized,
{
    let both = energy_score_fn(model);
    move |x| both(x).map(|(_, s)| s)
}

/// The noise-conditioned scores `s(x_b, σ)` (`[n, d]`) of a score model, as
/// [`annealed_langevin`](super::annealed_langevin) takes them; σ is given to
/// the model as a `[n, 1]` column.
///
/// # Errors (of the returned closure)
///
/// [`Error::Shape`] if `x` is not `[n, model.dim()]` or the model's scores are
/// not `[n, d]`; [`Error::InvalidData`] for a model of binary data
/// ([`Support::Binary`]).
///
/// ```
/// use scoretape::model::{Activation, MlpScore};
/// use scoretape::sample::conditioned_score_fn;
/// use scoretape::Tensor;
/// let model = MlpScore::<f64>::new(2, &[8], Activation::Tanh, true, 0).unwrap();
/// let s = conditioned_score_fn(&model)(&Tensor::zeros(&[5, 2]), 0.1).unwrap();
/// assert_eq!(s.shape(), &[5, 2]);
/// ```
pub fn conditioned_score_fn<'m, T, M>(
    model: &'m M,
) -> impl Fn(&Tensor<T>, T) -> Result<Tensor<T>, Error> + 'm
where
    T: Real,
    M: Score<T> + ?Sized,
{
    move |x, sigma| {
        refuse_binary(model)?;
        let n = check_input(x, model.dim())?;
        let tape = Tape::new();
        let params = constants(&tape, model.params());
        let sigma_column = tape.constant(Tensor::full(&[n, 1], sigma));
        let s = model.score(&params, tape.constant(x.clone()), Some(sigma_column));
        if s.shape() != x.shape() {
            return Err(Error::Shape(format!(
                "the score model returned shape {:?} for a batch of shape {:?}",
                s.shape(),
                x.shape()
            )));
        }
        Ok((*s.value()).clone())
    }
}

/// Refuses a model of binary data: its energy is defined on `ℝᵈ` but is no
/// density there, so a score (and any sampler that follows one) means nothing.
fn refuse_binary<T: Real, M: Model<T> + ?Sized>(model: &M) -> Result<(), Error> {
    match model.support() {
        Support::Continuous => Ok(()),
        Support::Binary => Err(Error::InvalidData(
            "the model is a distribution on binary data {0, 1}^d, with no density or score on ℝᵈ, \
             so Langevin dynamics, MALA and annealed Langevin cannot sample it; use Gibbs sampling \
             (sample::gibbs)"
                .into(),
        )),
    }
}

/// The parameters as constants: sampling never differentiates with respect to
/// them.
fn constants<'t, T: Real>(tape: &'t Tape<T>, params: &Params<T>) -> Vec<Var<'t, T>> {
    params
        .values()
        .iter()
        .map(|v| tape.constant(v.clone()))
        .collect()
}

/// Checks that `x` is `[n, dim]` and returns `n`.
fn check_input<T: Real>(x: &Tensor<T>, dim: usize) -> Result<usize, Error> {
    match *x.shape() {
        [n, d] if d == dim => Ok(n),
        [_, d] => Err(Error::Shape(format!(
            "the model has dimension {dim} but the data has {d} columns (shape {:?})",
            x.shape()
        ))),
        _ => Err(Error::Shape(format!(
            "the model takes batches [n, {dim}], got shape {:?}",
            x.shape()
        ))),
    }
}

/// Checks that a model's energies are `[n]`.
fn check_energies<T: Real>(e: &Tensor<T>, n: usize) -> Result<(), Error> {
    if e.shape() == [n] {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "the energy model returned shape {:?}, expected [{n}]",
            e.shape()
        )))
    }
}
