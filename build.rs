//! Rebuilds the crate when the embedded fixture trees change (`include_dir!` does not track
//! the files it embeds on stable Rust).

fn main() {
    println!("cargo:rerun-if-changed=seed");
    println!("cargo:rerun-if-changed=eval");
}
