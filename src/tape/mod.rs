//! The engine: a tape of recorded operations, and the transformations
//! (`grad`, `vjp`, `jvp`, `hvp`, `laplacian`, …) that sweep over it.
//!
//! A [`Tape`] is an arena of nodes in the order they were recorded (a Wengert
//! list). Each node holds its value, computed eagerly when it is recorded, and,
//! unless it is a leaf, the [`Primitive`] that produced it and its parents. A
//! [`Var`] is a cheap `Copy` handle to a node.
//!
//! Because every derivative rule is written with `Var` operations, a sweep
//! records its own work on the same tape; the derivative is then an ordinary
//! part of the graph and can be differentiated again, to any order.

mod accumulate;
mod into_var;
pub(crate) mod laplacian;
pub mod ops;
mod piecewise;
mod print;
mod transform;
mod var;

pub use accumulate::GradAccumulator;
pub use into_var::IntoVar;
pub(crate) use laplacian::{batched_jet, coordinate_directions, sum_of_squares};
pub use laplacian::{
    batched_laplacian, batched_weighted_laplacian, derived_from_jvp, forward_laplacian, laplacian,
    Jet, SumOfSquares,
};
pub use ops::{ElementwiseFn, Primitive};
pub use transform::{
    batched_hessian_trace, batched_jacobian_diagonal, batched_jacobian_trace, grad, hessian,
    hessian_trace, hvp, hvp_reverse_over_reverse, jacobian, jvp, vjp,
};
pub use var::Var;

use crate::error::Error;
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// What a node is.
pub(crate) enum NodeKind<T: Real> {
    /// A leaf whose value the user supplied and may later replace (`Tape::set_value`).
    Input,
    /// A leaf that is a fixed number (`Tape::constant`, `Var::detach`).
    Constant,
    /// The output of a primitive applied to earlier nodes.
    Op {
        primitive: Rc<dyn Primitive<T>>,
        parents: Vec<usize>,
    },
}

pub(crate) struct Node<T: Real> {
    pub(crate) value: Rc<Tensor<T>>,
    pub(crate) kind: NodeKind<T>,
    /// The rewind generation this node was recorded in; a `Var` carries the
    /// same number, so a handle to a node that a rewind removed is detected.
    epoch: u32,
}

/// A tape: the arena that records every operation on [`Var`]s.
///
/// # Examples
///
/// ```
/// use scoretape::{grad, Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::scalar(3.0));
/// let y = x * x * x; // y = x³
/// let dy = grad(y, &[x]).unwrap()[0];
/// assert_eq!(dy.item(), 27.0); // 3x²
/// let d2y = grad(dy, &[x]).unwrap()[0];
/// assert_eq!(d2y.item(), 18.0); // 6x
/// ```
pub struct Tape<T: Real> {
    nodes: RefCell<Vec<Node<T>>>,
    epoch: Cell<u32>,
    /// The first failure recorded by [`Tape::fail`] and the tape position it
    /// was recorded at: every node from there on is failed.
    failure: RefCell<Option<(usize, Error)>>,
}

/// A position on the tape, from [`Tape::mark`], to [`Tape::rewind`] to.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::<f64>::new();
/// let mark = tape.mark();
/// assert_eq!(mark.len(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(usize);

impl Mark {
    /// How many nodes the tape held when the mark was taken.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// tape.input(Tensor::scalar(1.0));
    /// assert_eq!(tape.mark().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.0
    }

    /// Whether the mark is at the start of the tape.
    ///
    /// ```
    /// use scoretape::Tape;
    /// assert!(Tape::<f32>::new().mark().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// Dropping a tape recycles its buffers as a rewind does, so a tape made per
/// call (say, per thread of batch-parallel work) keeps the pool warm.
impl<T: Real> Drop for Tape<T> {
    fn drop(&mut self) {
        self.rewind(Mark(0));
    }
}

impl<T: Real> Default for Tape<T> {
    fn default() -> Self {
        Tape::new()
    }
}

impl<T: Real> Tape<T> {
    /// An empty tape.
    ///
    /// ```
    /// use scoretape::Tape;
    /// let tape = Tape::<f64>::new();
    /// assert!(tape.is_empty());
    /// ```
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(Vec::new()),
            epoch: Cell::new(0),
            failure: RefCell::new(None),
        }
    }

    /// The number of recorded nodes.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// let _ = x.exp();
    /// assert_eq!(tape.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing has been recorded.
    ///
    /// ```
    /// use scoretape::Tape;
    /// assert!(Tape::<f64>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records an input: a leaf to differentiate with respect to, whose value
    /// can later be replaced with [`Tape::set_value`] (model parameters, data).
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    /// assert_eq!(x.shape(), vec![2]);
    /// ```
    pub fn input(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push(Rc::new(value), NodeKind::Input)
    }

    /// Records a constant: a leaf that is a fixed number. Differentiating with
    /// respect to it is allowed (it is a node like any other) but nothing
    /// upstream of it exists, so it cuts the graph.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let c = tape.constant(Tensor::scalar(2.0));
    /// assert!(c.is_constant());
    /// ```
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push(Rc::new(value), NodeKind::Constant)
    }

    /// Records a scalar constant.
    ///
    /// ```
    /// use scoretape::Tape;
    /// let tape = Tape::new();
    /// assert_eq!(tape.scalar(2.5).item(), 2.5);
    /// ```
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.constant(Tensor::scalar(value))
    }

    /// Records a primitive applied to `inputs`, computing its value now.
    ///
    /// This is how every operation on [`Var`] is recorded, and how a user adds a
    /// primitive of their own.
    ///
    /// # Panics
    ///
    /// If an input belongs to another tape or was removed by [`Tape::rewind`],
    /// or if the primitive's forward kernel rejects the input shapes.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// use scoretape::tape::ops::Exp;
    /// use scoretape::tape::ops::Elementwise;
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(0.0));
    /// let y = tape.apply(Elementwise(Exp), &[x]);
    /// assert_eq!(y.item(), 1.0);
    /// ```
    pub fn apply<P: Primitive<T>>(&self, primitive: P, inputs: &[Var<'_, T>]) -> Var<'_, T> {
        self.apply_rc(Rc::new(primitive), inputs)
    }

    pub(crate) fn apply_rc(
        &self,
        primitive: Rc<dyn Primitive<T>>,
        inputs: &[Var<'_, T>],
    ) -> Var<'_, T> {
        for &input in inputs {
            if let Err(e) = self.check_owns(input) {
                panic!("{}: {e}", primitive.name());
            }
        }
        let value = {
            let nodes = self.nodes.borrow();
            let values: Vec<&Tensor<T>> = inputs.iter().map(|v| &*nodes[v.index()].value).collect();
            primitive.forward(&values)
        };
        let parents = inputs.iter().map(|v| v.index()).collect();
        self.push(Rc::new(value), NodeKind::Op { primitive, parents })
    }

    fn push(&self, value: Rc<Tensor<T>>, kind: NodeKind<T>) -> Var<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        let epoch = self.epoch.get();
        nodes.push(Node { value, kind, epoch });
        Var::new(self, nodes.len() - 1, epoch)
    }

    /// Records that the computation being recorded cannot go on because of
    /// bad data (say, a batch of the wrong width for a model), and returns a
    /// stand-in: a constant of zeros of `shape`, so that the caller can return
    /// a value of the shape it promised instead of panicking.
    ///
    /// From then on every node recorded at or after this point is *failed*:
    /// reading its value through a fallible entry point ([`Var::try_value`],
    /// [`grad`] and the other transformations, the objectives, `train::fit`)
    /// returns `error`, and reading it through an infallible one
    /// ([`Var::value`], [`Var::item`], …) panics with `error`'s message.
    /// Operations still record (on the stand-in's zeros) and shapes can be
    /// read, so code between the failure and the next read of a value runs
    /// on. Nodes
    /// recorded before the failure stay readable; [`Tape::rewind`] to a mark
    /// taken before it removes the failure. Only the first failure is kept.
    ///
    /// This is how the models report data of the wrong shape from inside a
    /// closure `Fn(Var) -> Var`, which has no `Result` to return.
    ///
    /// # Examples
    ///
    /// ```
    /// use scoretape::{grad, Error, Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(2.0));
    /// let mark = tape.mark();
    /// let stand_in = tape.fail(Error::Shape("x must be [B, 3], got [5, 4]".into()), &[5]);
    /// let loss = (stand_in * w).sum();
    /// assert!(matches!(grad(loss, &[w]), Err(Error::Shape(_))));
    /// assert!(loss.try_value().is_err());
    /// assert_eq!(w.item(), 2.0); // recorded before the failure
    /// tape.rewind(mark);
    /// assert!(tape.failure().is_none());
    /// ```
    pub fn fail(&self, error: Error, shape: &[usize]) -> Var<'_, T> {
        {
            let mut failure = self.failure.borrow_mut();
            if failure.is_none() {
                *failure = Some((self.len(), error));
            }
        }
        self.constant(Tensor::zeros(shape))
    }

    /// The failure recorded by [`Tape::fail`], if any is still on the tape.
    ///
    /// ```
    /// use scoretape::{Error, Tape};
    /// let tape = Tape::<f64>::new();
    /// assert!(tape.failure().is_none());
    /// tape.fail(Error::Shape("wrong width".into()), &[1]);
    /// assert_eq!(tape.failure(), Some(Error::Shape("wrong width".into())));
    /// ```
    pub fn failure(&self) -> Option<Error> {
        self.failure.borrow().as_ref().map(|(_, e)| e.clone())
    }

    /// `Err` with the recorded failure if node `index` was recorded at or
    /// after it.
    pub(crate) fn check_not_failed(&self, index: usize) -> Result<(), Error> {
        match &*self.failure.borrow() {
            Some((from, error)) if index >= *from => Err(error.clone()),
            _ => Ok(()),
        }
    }

    /// A mark at the current end of the tape, for [`Tape::rewind`].
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(2.0));
    /// let mark = tape.mark();
    /// for _ in 0..1000 {
    ///     let loss = (w * w).exp();
    ///     let _ = scoretape::grad(loss, &[w]).unwrap();
    ///     tape.rewind(mark); // memory stays bounded however long the loop runs
    /// }
    /// assert_eq!(tape.len(), 1);
    /// ```
    pub fn mark(&self) -> Mark {
        Mark(self.len())
    }

    /// Removes every node recorded after `mark`. `Var`s that refer to removed
    /// nodes become stale: using one panics (in an operator) or returns
    /// [`Error::StaleVar`] (in an entry point), never reads another node.
    /// A failure recorded by [`Tape::fail`] after `mark` is removed too.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(1.0));
    /// let mark = tape.mark();
    /// let y = x.exp();
    /// tape.rewind(mark);
    /// assert_eq!(tape.len(), 1);
    /// assert!(y.try_value().is_err());
    /// ```
    pub fn rewind(&self, mark: Mark) {
        {
            let mut failure = self.failure.borrow_mut();
            if matches!(*failure, Some((from, _)) if mark.0 <= from) {
                *failure = None;
            }
        }
        let mut nodes = self.nodes.borrow_mut();
        if mark.0 < nodes.len() {
            crate::tensor::release_pooled_memory();
            for node in nodes.drain(mark.0..) {
                if let Ok(value) = Rc::try_unwrap(node.value) {
                    crate::tensor::recycle_buffer(value.into_vec());
                }
            }
            // Nodes recorded from now on get a new epoch, so stale handles to
            // the removed indices cannot alias them.
            self.epoch.set(self.epoch.get().wrapping_add(1));
        }
    }

    /// Replaces the value of an input (a leaf from [`Tape::input`]), as an
    /// optimiser does with parameters between steps. Nodes recorded earlier keep
    /// the values they computed, so call this between a [`Tape::rewind`] and the
    /// next recording.
    ///
    /// # Errors
    ///
    /// [`Error::NotAnInput`] if `var` is not an input, [`Error::Shape`] if the
    /// shapes differ, [`Error::ForeignVar`] / [`Error::StaleVar`] for a bad handle.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let w = tape.input(Tensor::scalar(1.0));
    /// tape.set_value(w, Tensor::scalar(5.0)).unwrap();
    /// assert_eq!(w.item(), 5.0);
    /// ```
    pub fn set_value(&self, var: Var<'_, T>, value: Tensor<T>) -> Result<(), Error> {
        self.check_owns(var)?;
        let mut nodes = self.nodes.borrow_mut();
        let node = &mut nodes[var.index()];
        if !matches!(node.kind, NodeKind::Input) {
            return Err(Error::NotAnInput(alloc::format!(
                "node %{} is not an input leaf, so its value cannot be set",
                var.index()
            )));
        }
        if node.value.shape() != value.shape() {
            return Err(Error::Shape(alloc::format!(
                "set_value: input %{} has shape {:?}, new value has shape {:?}",
                var.index(),
                node.value.shape(),
                value.shape()
            )));
        }
        node.value = Rc::new(value);
        Ok(())
    }

    /// Evaluates `f` on this tape and returns the value of its result, leaving
    /// the tape as it was: every node `f` records is removed again. Use it for
    /// values that need no derivatives (validation losses, energies to print).
    ///
    /// # Panics
    ///
    /// If `f` records a failure ([`Tape::fail`]), with its message.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::vector(&[1.0, 2.0]));
    /// let total = tape.evaluate(|| (x * x).sum());
    /// assert_eq!(total.item(), 5.0);
    /// assert_eq!(tape.len(), 1);
    /// ```
    pub fn evaluate<'t>(&'t self, f: impl FnOnce() -> Var<'t, T>) -> Tensor<T> {
        let mark = self.mark();
        let value = f().value();
        self.rewind(mark);
        Rc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
    }

    /// Panics unless `var` is a live node of this tape.
    pub(crate) fn assert_owns(&self, var: Var<'_, T>, operation: &str) {
        if let Err(e) = self.check_owns(var) {
            panic!("{operation}: {e}");
        }
    }

    /// Whether `var` is a live node of this tape.
    pub(crate) fn check_owns(&self, var: Var<'_, T>) -> Result<(), Error> {
        if !core::ptr::eq(var.tape(), self) {
            return Err(Error::ForeignVar);
        }
        let nodes = self.nodes.borrow();
        match nodes.get(var.index()) {
            Some(node) if node.epoch == var.epoch() => Ok(()),
            _ => Err(Error::StaleVar),
        }
    }

    pub(crate) fn value_of(&self, index: usize) -> Rc<Tensor<T>> {
        Rc::clone(&self.nodes.borrow()[index].value)
    }

    /// The primitive and parents of node `index`, or `None` for a leaf.
    pub(crate) fn op_of(&self, index: usize) -> Option<(Rc<dyn Primitive<T>>, Vec<usize>)> {
        match &self.nodes.borrow()[index].kind {
            NodeKind::Op { primitive, parents } => Some((Rc::clone(primitive), parents.clone())),
            _ => None,
        }
    }

    pub(crate) fn is_constant_node(&self, index: usize) -> bool {
        matches!(self.nodes.borrow()[index].kind, NodeKind::Constant)
    }

    pub(crate) fn is_input_node(&self, index: usize) -> bool {
        matches!(self.nodes.borrow()[index].kind, NodeKind::Input)
    }

    /// A handle to node `index`, which must be live.
    pub(crate) fn var_at(&self, index: usize) -> Var<'_, T> {
        let epoch = self.nodes.borrow()[index].epoch;
        Var::new(self, index, epoch)
    }

    pub(crate) fn nodes(&self) -> core::cell::Ref<'_, Vec<Node<T>>> {
        self.nodes.borrow()
    }
}
