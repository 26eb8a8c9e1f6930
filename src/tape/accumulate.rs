//! First-order gradients of a sum of many terms, keeping one term's graph at
//! a time.
//!
//! The exact score-matching loss needs `d` Hessian-vector products per batch,
//! and its parameter gradient would normally sweep back through all `d`
//! recorded forward sweeps at once, so all of them stay in memory. When only
//! the first derivative in the parameters is wanted, the loss can be split:
//! `L = Σⱼ Lⱼ`, where every term `Lⱼ` is computed from a shared graph (here the
//! energy and its recorded gradient) recorded before the terms. Then
//!
//! `∂L/∂θ = Σⱼ ∂Lⱼ/∂θ = (∂shared/∂θ)ᵀ Σⱼ (∂Lⱼ/∂shared)ᵀ`:
//!
//! each term is swept back only as far as the shared graph, its cotangents
//! there are added up as plain tensors, and the term's nodes are rewound; one
//! final sweep then carries the summed cotangents through the shared graph to
//! the parameters. That is exactly the work of the all-at-once sweep, with the
//! memory of one term.

use super::transform::{on_path, reverse_sweep, vjp};
use super::{Mark, NodeKind, Tape, Var};
use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::vec;
use alloc::vec::Vec;

/// Accumulates `∂(Σⱼ termⱼ)/∂params` one term at a time (see the module docs).
///
/// Everything recorded before [`GradAccumulator::new`] is the shared graph;
/// every [`GradAccumulator::add`] removes what was recorded after that point,
/// so record each term, add it, and record the next. The result is a value,
/// not a `Var`: this is the fast path for first-order training gradients.
///
/// # Examples
///
/// ```
/// use scoretape::{grad, GradAccumulator, Tape, Tensor};
/// let tape = Tape::new();
/// let w = tape.input(Tensor::vector(&[0.5, -1.0]));
/// let shared = w.sin(); // recorded once, used by every term
/// let mut acc = GradAccumulator::new(&[w]).unwrap();
/// for k in 1..=3 {
///     let term = (shared * k as f64).exp().sum();
///     acc.add(term).unwrap();
/// }
/// let (value, grads) = acc.finish().unwrap();
///
/// // The same gradient, all at once.
/// let total = (1..=3).map(|k| (shared * k as f64).exp().sum()).reduce(|a, b| a + b).unwrap();
/// let direct = grad(total, &[w]).unwrap()[0].value();
/// assert!((value - total.item()).abs() < 1e-12);
/// assert!(grads[0].max_abs_diff(&direct) < 1e-12);
/// ```
pub struct GradAccumulator<'t, T: Real> {
    tape: &'t Tape<T>,
    params: Vec<Var<'t, T>>,
    boundary: Mark,
    /// For each node of the shared graph: whether it depends on a parameter.
    depends: Vec<bool>,
    /// For each node of the shared graph: the summed cotangent reaching it.
    cotangents: Vec<Option<Tensor<T>>>,
    value: T,
}

impl<'t, T: Real> GradAccumulator<'t, T> {
    /// Starts accumulating the gradient with respect to `params`, with
    /// everything recorded so far as the shared graph.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] if `params` is empty, and [`Error::ForeignVar`] /
    /// [`Error::StaleVar`] for a bad handle.
    ///
    /// ```
    /// use scoretape::{GradAccumulator, Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(1.0));
    /// assert!(GradAccumulator::new(&[w]).is_ok());
    /// ```
    pub fn new(params: &[Var<'t, T>]) -> Result<Self, Error> {
        let Some(first) = params.first() else {
            return Err(Error::Shape(alloc::string::String::from(
                "GradAccumulator needs at least one parameter",
            )));
        };
        let tape = first.tape();
        for &p in params {
            tape.check_owns(p)?;
        }
        let boundary = tape.mark();
        let mut depends = vec![false; boundary.len()];
        for p in params {
            depends[p.index()] = true;
        }
        {
            let nodes = tape.nodes();
            for (i, node) in nodes.iter().enumerate() {
                if let NodeKind::Op { parents, .. } = &node.kind
                    && parents.iter().any(|&p| depends[p])
                {
                    depends[i] = true;
                }
            }
        }
        Ok(GradAccumulator {
            tape,
            params: params.to_vec(),
            cotangents: vec![None; boundary.len()],
            boundary,
            depends,
            value: T::zero(),
        })
    }

    /// Adds the gradient of the scalar `term` and its value, then removes
    /// every node recorded since the accumulator was created. Returns the
    /// term's value.
    ///
    /// # Errors
    ///
    /// [`Error::NotScalar`] if `term` has more than one element,
    /// [`Error::ForeignVar`] / [`Error::StaleVar`] for a bad handle, and the
    /// recorded error for a term recorded after a [`Tape::fail`](crate::Tape::fail).
    ///
    /// ```
    /// use scoretape::{GradAccumulator, Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(2.0));
    /// let mut acc = GradAccumulator::new(&[w]).unwrap();
    /// assert_eq!(acc.add(w * w).unwrap(), 4.0);
    /// assert_eq!(tape.len(), 1); // the term's nodes are gone
    /// ```
    pub fn add(&mut self, term: Var<'t, T>) -> Result<T, Error> {
        let value = term.try_value()?;
        if value.len() != 1 {
            return Err(Error::NotScalar {
                shape: value.shape().to_vec(),
            });
        }
        let term_value = value.item();
        self.value += term_value;
        let lo = self.boundary.len();
        let one = Tensor::ones(value.shape());
        if term.index() < lo {
            // A term from the shared graph itself: its cotangent is just 1.
            self.add_cotangent(term.index(), &one);
            return Ok(term_value);
        }
        let hi = term.index();
        let depends = &self.depends;
        let relevant = on_path(self.tape, lo, hi, &[], &[term], &|p| depends[p]);
        let is_relevant = |p: usize| if p < lo { depends[p] } else { relevant[p - lo] };
        let seed = self.tape.constant(one);
        let mut reached: Vec<(usize, Var<'t, T>)> = Vec::new();
        reverse_sweep(self.tape, lo, hi, &[(hi, seed)], &is_relevant, |p, c| {
            reached.push((p, c))
        });
        for (p, c) in reached {
            self.add_cotangent(p, &c.recorded_value());
        }
        self.tape.rewind(self.boundary);
        Ok(term_value)
    }

    fn add_cotangent(&mut self, node: usize, cotangent: &Tensor<T>) {
        match &mut self.cotangents[node] {
            Some(sum) => {
                for (s, &c) in sum.data_mut().iter_mut().zip(cotangent.data()) {
                    *s += c;
                }
            }
            slot @ None => *slot = Some(cotangent.clone()),
        }
    }

    /// The sum of the added terms' values, and its gradient with respect to
    /// each parameter (in the order given to [`GradAccumulator::new`]).
    /// Leaves the tape as it was when the accumulator was created.
    ///
    /// # Errors
    ///
    /// [`Error::StaleVar`] if the shared graph was rewound meanwhile.
    ///
    /// ```
    /// use scoretape::{GradAccumulator, Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(3.0));
    /// let mut acc = GradAccumulator::new(&[w]).unwrap();
    /// acc.add(w * w).unwrap();
    /// acc.add(w * 2.0).unwrap();
    /// let (value, grads) = acc.finish().unwrap();
    /// assert_eq!(value, 15.0);
    /// assert_eq!(grads[0].item(), 8.0); // 2w + 2
    /// ```
    pub fn finish(self) -> Result<(T, Vec<Tensor<T>>), Error> {
        let mut ys = Vec::new();
        let mut cotangents = Vec::new();
        for (node, cotangent) in self.cotangents.into_iter().enumerate() {
            if let Some(c) = cotangent {
                ys.push(self.tape.var_at(node));
                cotangents.push(self.tape.constant(c));
            }
        }
        let grads = vjp(&ys, &self.params, &cotangents)?;
        let values = grads.iter().map(|g| (*g.value()).clone()).collect();
        self.tape.rewind(self.boundary);
        Ok((self.value, values))
    }
}
