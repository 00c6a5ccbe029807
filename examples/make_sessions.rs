//! Writes the bundled sandbox sessions to `testdata/sessions/` (run after changing
//! `linky_enedis::sandbox_sessions`; a test checks that the files match the code).
//!
//! ```text
//! cargo run --example make_sessions
//! ```

use std::path::Path;

fn main() -> std::io::Result<()> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sessions");
    std::fs::create_dir_all(&folder)?;
    let mut sessions = linky_enedis::sandbox_sessions();
    sessions.push(("replay-main.json", linky_examples::main_session()));
    for (name, session) in sessions {
        let path = folder.join(name);
        // Compact: the bundled files are generated, and read by programs.
        let json = serde_json::to_string(&session).map_err(std::io::Error::other)?;
        std::fs::write(&path, json + "\n")?;
        println!("{}: {} exchanges", path.display(), session.exchanges.len());
    }
    Ok(())
}
