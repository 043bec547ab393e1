//! The `fedcloud-conformance` binary; everything lives in the library.

fn main() {
    std::process::exit(fedcloud_conformance::cli::main_impl());
}
