//! The score `-∇E(x)` and the Hessian–vector product of a small energy on
//! a Cortex-M4F, in `f32`, with no standard library: what an embedded user of
//! scoretape links in. See Cargo.toml for how to build and measure it.
#![no_std]
#![no_main]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use scoretape::{grad, hvp, Tape, Tensor};

/// `E(x) = Σᵢ softplus(xᵢ)² + x₀x₁`, and out = (score, H·(1, 0)).
#[no_mangle]
pub extern "C" fn score_and_curvature(x: &[f32; 2], out: &mut [f32; 4]) {
    let tape = Tape::<f32>::new();
    let x = tape.input(Tensor::vector(x));
    let pair = x.slice(0, 0, 1) * x.slice(0, 1, 2);
    let energy = x.softplus().square().sum() + pair.sum();
    let score = grad(energy, &[x]).expect("x is an input")[0] * -1.0;
    let direction = tape.constant(Tensor::vector(&[1.0, 0.0]));
    let curvature = hvp(energy, x, direction).expect("x is an input");
    out[..2].copy_from_slice(&score.to_vec());
    out[2..].copy_from_slice(&curvature.to_vec());
}

/// The entry point the linker keeps: calls the example on opaque data so
/// nothing is optimised away. (A real firmware's runtime, e.g. cortex-m-rt,
/// would provide the vector table and call this.)
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let x = core::hint::black_box([0.5f32, -1.0]);
    let mut out = [0.0f32; 4];
    score_and_curvature(&x, &mut out);
    core::hint::black_box(out);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// A bump allocator over a static arena: never frees, enough for one tape.
struct Bump {
    arena: UnsafeCell<[u8; ARENA]>,
    next: AtomicUsize,
}

const ARENA: usize = 32 * 1024;

// The arena is only handed out in disjoint pieces (the atomic `next`).
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.arena.get() as usize;
        let mut start = 0;
        let claimed = self.next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
            start = (base + next).next_multiple_of(layout.align()) - base;
            let end = start.checked_add(layout.size())?;
            (end <= ARENA).then_some(end)
        });
        match claimed {
            Ok(_) => (base + start) as *mut u8,
            Err(_) => core::ptr::null_mut(),
        }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    arena: UnsafeCell::new([0; ARENA]),
    next: AtomicUsize::new(0),
};
