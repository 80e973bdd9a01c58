//! The `opsdeck` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    opsdeck::cli::main()
}
