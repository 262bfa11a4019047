//! Compiles proto/blogin/scim/v1/*.proto with protox (pure Rust: no system `protoc` needed).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let dir = root.join("blogin/scim/v1");
    let files = [
        "resources.proto",
        "commands.proto",
        "events.proto",
        "directory.proto",
    ]
    .map(|f| dir.join(f));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
