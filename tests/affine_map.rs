//! The affine input map z = A(x − m) (standardising and PCA whitening), the
//! Jacobi eigen-decomposition under it, the log-density through the map
//! against the closed-form Gaussian in the original units, and the optional
//! `"input_map"` field of model files.
#![cfg(feature = "io")]
// Index loops read as the matrix formulas they check.
#![allow(clippy::needless_range_loop)]

use scoretape::io::{
    load_model, load_model_file, model_file_from_json, parse_model, save_model, save_model_file,
    AnyModel, ModelFile,
};
use scoretape::model::linalg::symmetric_eigen;
use scoretape::model::{AffineMap, Energy, Model, QuadraticEnergy};
use scoretape::random::{normal_tensor, seeded};
use scoretape::{grad, Tape, Tensor};
use std::f64::consts::PI;

/// `n` rows of N(mean, L Lᵀ) in 2-D, L = [[2, 0], [1.5, 0.5]]: correlated
/// and on different scales.
fn correlated(n: usize, seed: u64) -> Tensor<f64> {
    let e: Tensor<f64> = normal_tensor(&[n, 2], &mut seeded(seed));
    Tensor::from_fn(&[n, 2], |k| {
        let (a, b) = (e.data()[k / 2 * 2], e.data()[k / 2 * 2 + 1]);
        if k % 2 == 0 {
            3.0 + 2.0 * a
        } else {
            -1.0 + 1.5 * a + 0.5 * b
        }
    })
}

fn column_moments(z: &Tensor<f64>) -> (Tensor<f64>, Tensor<f64>) {
    let n = z.shape()[0] as f64;
    let mean = z.sum_axis(0).map(|v| v / n);
    let c = z.zip_map(&mean, |a, b| a - b);
    (mean, c.matmul_t(&c, true, false).map(|v| v / n))
}

#[test]
fn jacobi_eigen_decomposition_reconstructs_a_symmetric_matrix() {
    let d = 7;
    let g: Tensor<f64> = normal_tensor(&[d, d], &mut seeded(3));
    let a = g.zip_map(&g.transpose(), |p, q| p + q);
    let (values, vectors) = symmetric_eigen(&a).unwrap();
    // Ascending eigenvalues; orthonormal V; V Λ Vᵀ = A.
    assert!(values.data().windows(2).all(|w| w[0] <= w[1]));
    let vtv = vectors.matmul_t(&vectors, true, false);
    assert!(vtv.max_abs_diff(&Tensor::eye(d)) < 1e-12);
    let scaled = Tensor::from_fn(&[d, d], |k| vectors.data()[k] * values.data()[k % d]);
    let back = scaled.matmul_t(&vectors, false, true);
    assert!(back.max_abs_diff(&a) < 1e-12, "{}", back.max_abs_diff(&a));
    // The trace is the sum of the eigenvalues.
    let trace: f64 = (0..d).map(|i| a.get(&[i, i])).sum();
    assert!((values.data().iter().sum::<f64>() - trace).abs() < 1e-12);
}

#[test]
fn jacobi_eigenvalues_of_a_known_matrix_and_bad_input() {
    // Eigenvalues of [[2,-1,0],[-1,2,-1],[0,-1,2]] are 2 − √2, 2, 2 + √2.
    let a = Tensor::from_rows(&[
        vec![2.0, -1.0, 0.0],
        vec![-1.0, 2.0, -1.0],
        vec![0.0, -1.0, 2.0],
    ])
    .unwrap();
    let (values, _) = symmetric_eigen(&a).unwrap();
    let s = 2f64.sqrt();
    for (got, want) in values.data().iter().zip([2.0 - s, 2.0, 2.0 + s]) {
        assert!((got - want).abs() < 1e-14, "{got} vs {want}");
    }
    assert!(symmetric_eigen(&Tensor::<f64>::zeros(&[2, 3])).is_err());
    assert!(symmetric_eigen(&Tensor::from_rows(&[vec![f64::NAN]]).unwrap()).is_err());
}

#[test]
fn standardize_and_whiten_give_unit_moments_and_their_log_determinants() {
    let x = correlated(500, 1);
    let (mean_x, cov_x) = column_moments(&x);

    let s = AffineMap::standardize(&x).unwrap();
    let (mean_z, cov_z) = column_moments(&s.apply(&x));
    assert!(mean_z.max_abs_diff(&Tensor::zeros(&[2])) < 1e-12);
    for j in 0..2 {
        assert!((cov_z.get(&[j, j]) - 1.0).abs() < 1e-12);
    }
    let want = -0.5 * (cov_x.get(&[0, 0]).ln() + cov_x.get(&[1, 1]).ln());
    assert!((s.log_abs_det() - want).abs() < 1e-12);
    assert!(s.shift().max_abs_diff(&mean_x) < 1e-12);

    let w = AffineMap::whiten(&x).unwrap();
    let (mean_z, cov_z) = column_moments(&w.apply(&x));
    assert!(mean_z.max_abs_diff(&Tensor::zeros(&[2])) < 1e-12);
    assert!(cov_z.max_abs_diff(&Tensor::eye(2)) < 1e-11);
    // |det A| = det(C)^(-1/2), det C of a 2×2 by its formula.
    let det = cov_x.get(&[0, 0]) * cov_x.get(&[1, 1]) - cov_x.get(&[0, 1]).powi(2);
    assert!((w.log_abs_det() + 0.5 * det.ln()).abs() < 1e-12);

    // invert ∘ apply is the identity.
    for map in [&s, &w] {
        assert!(map.invert(&map.apply(&x)).max_abs_diff(&x) < 1e-12);
    }
}

#[test]
fn degenerate_data_cannot_be_mapped() {
    let constant = Tensor::from_rows(&[vec![1.0, 4.0], vec![2.0, 4.0], vec![3.0, 4.0]]).unwrap();
    let err = AffineMap::standardize(&constant).unwrap_err().to_string();
    assert!(err.contains("column 2 is constant"), "{err}");
    let collinear = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]]).unwrap();
    assert!(AffineMap::whiten(&collinear).is_err());
    let one_row = Tensor::from_rows(&[vec![1.0, 2.0]]).unwrap();
    assert!(AffineMap::standardize(&one_row).is_err());
    let singular = Tensor::from_rows(&[vec![1.0, 2.0], vec![2.0, 4.0]]).unwrap();
    assert!(AffineMap::new(Tensor::vector(&[0.0, 0.0]), singular).is_err());
}

/// log N(x; μ, P⁻¹) in 2-D, written out.
fn gaussian_log_density(x: [f64; 2], mu: [f64; 2], p: [[f64; 2]; 2]) -> f64 {
    let r = [x[0] - mu[0], x[1] - mu[1]];
    let quad = p[0][0] * r[0] * r[0] + 2.0 * p[0][1] * r[0] * r[1] + p[1][1] * r[1] * r[1];
    let det = p[0][0] * p[1][1] - p[0][1] * p[1][0];
    -0.5 * quad - (2.0 * PI).ln() + 0.5 * det.ln()
}

#[test]
fn the_log_density_through_the_map_is_the_gaussian_in_original_units() {
    let x = correlated(200, 2);
    let map = AffineMap::whiten(&x).unwrap();
    // A Gaussian on z: mean μ_z, precision P_z.
    let mu_z: [f64; 2] = [0.3, -0.2];
    let p_z: [[f64; 2]; 2] = [[1.5, 0.4], [0.4, 0.8]];
    let model = QuadraticEnergy::from_mean_precision(
        &Tensor::vector(&mu_z),
        &Tensor::from_rows(&[p_z[0].to_vec(), p_z[1].to_vec()]).unwrap(),
    )
    .unwrap();
    let log_z_z = (2.0 * PI).ln() - 0.5 * (p_z[0][0] * p_z[1][1] - p_z[0][1].powi(2)).ln();
    // In x: mean m + A⁻¹μ_z, precision Aᵀ P_z A, computed independently.
    let a = map.matrix();
    let mu_x = map.invert(&Tensor::from_rows(&[mu_z.to_vec()]).unwrap());
    let pz = Tensor::from_rows(&[p_z[0].to_vec(), p_z[1].to_vec()]).unwrap();
    let p_x = a.matmul_t(&pz.matmul(a), true, false);
    let p_x = [
        [p_x.get(&[0, 0]), p_x.get(&[0, 1])],
        [p_x.get(&[1, 0]), p_x.get(&[1, 1])],
    ];

    let tape = Tape::new();
    let params = model.params().record(&tape);
    let xs = x.slice(0, 0, 20);
    let xv = tape.input(xs.clone());
    let energy = model.energy(&params, map.apply_var(xv));
    let score = -grad(energy.sum(), &[xv]).unwrap()[0];
    for b in 0..20 {
        let row = [xs.get(&[b, 0]), xs.get(&[b, 1])];
        let through_map = -energy.value().data()[b] - log_z_z + map.log_abs_det();
        let want = gaussian_log_density(row, [mu_x.data()[0], mu_x.data()[1]], p_x);
        assert!(
            (through_map - want).abs() < 1e-10,
            "{through_map} vs {want}"
        );
        // The score chains through Aᵀ: −P_x(x − μ_x).
        let r = [row[0] - mu_x.data()[0], row[1] - mu_x.data()[1]];
        for i in 0..2 {
            let want = -(p_x[i][0] * r[0] + p_x[i][1] * r[1]);
            assert!((score.value().get(&[b, i]) - want).abs() < 1e-10);
        }
    }
}

fn quadratic_file(map: Option<AffineMap>) -> ModelFile {
    let p = Tensor::from_rows(&[vec![2.0, 0.3], vec![0.3, 1.0]]).unwrap();
    let model = QuadraticEnergy::from_mean_precision(&Tensor::vector(&[0.1, -0.7]), &p).unwrap();
    ModelFile {
        model: AnyModel::Quadratic(model),
        input_map: map,
    }
}

#[test]
fn a_model_file_with_an_input_map_round_trips_and_one_without_loads_as_before() {
    let dir = std::env::temp_dir().join(format!("scoretape-affine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.json");
    let map = AffineMap::whiten(&correlated(50, 4)).unwrap();
    let file = quadratic_file(Some(map));
    save_model_file(&path, &file).unwrap();
    assert_eq!(load_model_file(&path).unwrap(), file); // bit-identical
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"input_map\""));
    // The plain reader refuses it rather than give a model in the wrong units.
    let err = load_model(&path).unwrap_err().to_string();
    assert!(err.contains("load_model_file"), "{err}");

    // A file without the field: both readers give the same model, no map.
    let plain = quadratic_file(None);
    save_model(&path, &plain.model).unwrap();
    assert_eq!(load_model_file(&path).unwrap(), plain);
    assert_eq!(load_model(&path).unwrap(), plain.model);
    save_model_file(&path, &plain).unwrap();
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains("input_map"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_input_map_is_refused_with_its_reason() {
    let base = r#"{"format": "scoretape-model", "version": 1, "kind": "quadratic",
        "mean": [0.0, 0.0], "cholesky": [[0.0, 0.0], [0.0, 0.0]], "input_map": "#;
    for (map, expected) in [
        (r#"{"shift": [0.0], "matrix": [[1.0]]}"#, "dimension 2"),
        (
            r#"{"shift": [0.0, 0.0], "matrix": [[1.0, 2.0], [2.0, 4.0]]}"#,
            "singular",
        ),
        (
            r#"{"shift": [0.0, 0.0], "matrix": [[1.0, 0.0], [0.0, 1.0]], "scale": 1}"#,
            "unknown field \"scale\"",
        ),
        (
            r#"{"shift": [0.0, 0.0]}"#,
            "missing field \"input_map.matrix\"",
        ),
        (r#"[1, 2]"#, "must be an object"),
    ] {
        let value: serde_json::Value = serde_json::from_str(&format!("{base}{map}}}")).unwrap();
        let err = model_file_from_json(&value).unwrap_err();
        assert!(err.contains(expected), "{map}: {err}");
    }
    // parse_model (the plain reader) names the field.
    let text = format!(
        "{base}{}}}",
        r#"{"shift": [0.0, 0.0], "matrix": [[1.0, 0.0], [0.0, 1.0]]}"#
    );
    assert!(parse_model(&text, "m.json".as_ref())
        .unwrap_err()
        .to_string()
        .contains("input_map"));
}
