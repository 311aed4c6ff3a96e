//! Generates Rust for every contract under `opeka/` and a descriptor set for reflection.
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY of set_var is not a concern here: build scripts are single-threaded.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let files =
        ["opeka/identity/v1/identity.proto", "opeka/events/v1/envelope.proto", "opeka/events/v1/identity.proto"];
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().file_descriptor_set_path(out.join("opeka_descriptor.bin")).compile_with_config(
        config,
        &files,
        &["."],
    )?;
    for f in files {
        println!("cargo:rerun-if-changed={f}");
    }
    Ok(())
}
