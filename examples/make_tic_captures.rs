//! Writes the bundled TIC captures to `testdata/tic/` (run after changing
//! `linky_enedis::tic::simulated`; a test checks that the files match the code).
//!
//! ```text
//! cargo run --example make_tic_captures
//! ```

use std::path::Path;

fn main() -> std::io::Result<()> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/tic");
    std::fs::create_dir_all(&folder)?;
    for (name, capture) in linky_enedis::tic::simulated::bundled_captures() {
        let path = folder.join(name);
        std::fs::write(&path, capture.to_text())?;
        println!(
            "{}: {} reads, {} bytes",
            path.display(),
            capture.chunks.len(),
            capture.bytes().len()
        );
    }
    Ok(())
}
