//! The tape as text: the Wengert list (one line per node) and Graphviz DOT.

use super::{NodeKind, Tape};
use crate::real::Real;
use crate::tensor::Tensor;
use alloc::string::String;
use core::fmt::{self, Write};

/// At most this many elements of a value are printed.
const SHOWN: usize = 6;

fn write_value<T: Real>(out: &mut impl Write, value: &Tensor<T>) -> fmt::Result {
    write!(out, "[")?;
    for (k, v) in value.data().iter().take(SHOWN).enumerate() {
        if k > 0 {
            write!(out, ", ")?;
        }
        write!(out, "{:.4}", v)?;
    }
    if value.len() > SHOWN {
        write!(out, ", … ({} in all)", value.len())?;
    }
    write!(out, "]")
}

/// Prints the Wengert list: each node's index, primitive and parents, shape and
/// (leading) values.
///
/// ```
/// use scoretape::{Tape, Tensor};
/// let tape = Tape::new();
/// let x = tape.input(Tensor::scalar(2.0));
/// let _ = (x * x).exp();
/// let text = tape.to_string();
/// assert!(text.contains("%1 = mul(%0, %0)"));
/// assert!(text.contains("%2 = exp(%1)"));
/// ```
impl<T: Real> fmt::Display for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.nodes().iter().enumerate() {
            let mut op = String::new();
            match &node.kind {
                NodeKind::Input => op.push_str("input"),
                NodeKind::Constant => op.push_str("constant"),
                NodeKind::Op { primitive, parents } => {
                    write!(op, "{}(", primitive.name())?;
                    for (k, p) in parents.iter().enumerate() {
                        if k > 0 {
                            op.push_str(", ");
                        }
                        write!(op, "%{p}")?;
                    }
                    op.push(')');
                }
            }
            let lhs = alloc::format!("%{i}");
            write!(
                f,
                "{lhs:>5} = {op:<28} shape {:<10} ",
                alloc::format!("{:?}", node.value.shape())
            )?;
            write_value(f, &node.value)?;
            writeln!(f)?;
        }
        Ok(())
    }
}

impl<T: Real> Tape<T> {
    /// The tape as a Graphviz DOT graph: one box per node (inputs green,
    /// constants grey), an edge from each parent to its child.
    ///
    /// ```
    /// use scoretape::{Tape, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.input(Tensor::scalar(2.0));
    /// let _ = x.sin();
    /// let dot = tape.to_dot();
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("n0 -> n1"));
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph tape {\n  rankdir=TB;\n  node [shape=box, fontname=monospace];\n",
        );
        for (i, node) in self.nodes().iter().enumerate() {
            let (label, style) = match &node.kind {
                NodeKind::Input => (String::from("input"), ", style=filled, fillcolor=palegreen"),
                NodeKind::Constant => (
                    String::from("constant"),
                    ", style=filled, fillcolor=lightgrey",
                ),
                NodeKind::Op { primitive, .. } => (primitive.name(), ""),
            };
            let mut value = String::new();
            let _ = write_value(&mut value, &node.value);
            let label = alloc::format!("%{i} = {label}\\n{:?} {value}", node.value.shape())
                .replace('"', "'");
            let _ = writeln!(out, "  n{i} [label=\"{label}\"{style}];");
            if let NodeKind::Op { parents, .. } = &node.kind {
                for p in parents {
                    let _ = writeln!(out, "  n{p} -> n{i};");
                }
            }
        }
        out.push_str("}\n");
        out
    }
}
