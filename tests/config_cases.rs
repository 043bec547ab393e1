//! One test per broken manifest or profile in `fixtures/config-cases/`: the loader must
//! report the error at the line, column and with the message the file's header expects.

use std::path::{Path, PathBuf};

use fedcloud_conformance::manifest::Catalog;
use fedcloud_conformance::profile::SiteProfile;
use libtest_mimic::{Arguments, Failed, Trial};

fn cases(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/config-cases")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("case directory exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

fn check_case(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let expected = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# expect: "))
        .ok_or("the first line must be `# expect: LINE:COLUMN: MESSAGE`")?;
    let is_manifest = path.parent().is_some_and(|dir| dir.ends_with("manifests"));
    let error = if is_manifest {
        Catalog::from_sources(vec![(path.to_path_buf(), text.clone())]).err()
    } else {
        SiteProfile::parse(path, &text).err()
    };
    let Some(error) = error else {
        return Err("the file loaded without error".into());
    };
    let shown = error.to_string();
    // Errors about the whole file (a missing table) carry no line and column.
    let wanted = if expected.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{}:{expected}", path.display())
    } else {
        format!("{}: {expected}", path.display())
    };
    if !shown.starts_with(&wanted) {
        return Err(format!("expected an error starting\n  {wanted}\ngot\n  {shown}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for kind in ["manifests", "profiles"] {
        for path in cases(kind) {
            let name = format!("{kind}::{}", path.file_stem().unwrap().to_string_lossy());
            trials.push(Trial::test(name, move || check_case(&path)));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
