//! `hearthd`: parse the command line and hand over. Everything else lives in the library.

fn main() -> std::process::ExitCode {
    hearthd::cli::main()
}
