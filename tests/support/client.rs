//! Running a real client program and checking how it went.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `program args` in `dir` with extra environment; returns its output whatever its exit status.
pub fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}; scripts/test installs the clients"))
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(dir: &Path, program: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let output = run(dir, program, args, env);
    assert!(output.status.success(), "{program} {args:?} failed:\n{}", describe(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Both streams, for an assertion message.
pub fn describe(output: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
