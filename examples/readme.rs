use scoretape::{grad, hvp, Tape, Tensor};

fn main() -> Result<(), scoretape::Error> {
    let tape = Tape::new();
    let x = tape.input(Tensor::vector(&[1.0, 2.0, 3.0]));
    let f = x.exp().sum().log(); // log-sum-exp: ∇f = softmax(x) = p, H = diag(p) - p pᵀ
    let p = grad(f, &[x])?[0];
    let v = tape.constant(Tensor::vector(&[1.0, 0.0, 0.0]));
    let hv = hvp(f, x, v)?; // forward-over-reverse: H v = p₀ (e₀ - p)
    println!("grad = {:.6?}\nH v  = {:.6?}", p.to_vec(), hv.to_vec());

    let p0 = 1.0 / (1.0 + 1f64.exp() + 2f64.exp()); // e¹ / (e¹ + e² + e³)
    assert!((p.to_vec()[0] - p0).abs() < 1e-14);
    assert!((hv.to_vec()[0] - p0 * (1.0 - p0)).abs() < 1e-14);
    Ok(())
}
