//! Generates Rust for every contract under `opeka/` (found by walking the
//! tree, so a new service's .proto needs no edit here) and one descriptor set
//! for gRPC reflection.
use std::path::{Path, PathBuf};

fn protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut files = Vec::new();
    protos(Path::new("opeka"), &mut files)?;
    files.sort();
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().file_descriptor_set_path(out.join("opeka_descriptor.bin")).compile_with_config(
        config,
        &files,
        &[PathBuf::from(".")],
    )?;
    println!("cargo:rerun-if-changed=opeka");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    Ok(())
}
