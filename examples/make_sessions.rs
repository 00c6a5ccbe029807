//! Writes the bundled sandbox sessions to `testdata/sessions/` and the colour publishers'
//! to `testdata/sessions/colours/` (run after changing `linky_enedis::sandbox_sessions` or
//! `colour_sessions`; tests check that the files match the code).
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
    // The colour publishers' sessions, in a folder of their own (not syncs to replay).
    let colours = folder.join("colours");
    std::fs::create_dir_all(&colours)?;
    for (name, session) in linky_enedis::colour_sessions() {
        let path = colours.join(name);
        let json = serde_json::to_string(&session).map_err(std::io::Error::other)?;
        std::fs::write(&path, json + "\n")?;
        println!("{}: {} exchanges", path.display(), session.exchanges.len());
    }
    Ok(())
}
