//! The `scoretape` command-line program; everything it does lives in
//! [`scoretape::cli`], so it can be tested and documented with the library.

fn main() {
    std::process::exit(scoretape::cli::main());
}
