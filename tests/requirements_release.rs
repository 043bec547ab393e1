//! Each recorded Nova version document names the release its file is for: one case per file of
//! `fixtures/openstack/compute-versions/`, with the expected name in `expected.json` there.

use std::path::Path;

use fedcloud_conformance::openstack_release::{ComputeRelease, Microversion};
use libtest_mimic::{Arguments, Failed, Trial};

mod common;

fn run_case(path: &Path, expected: &str) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let document: serde_json::Value = serde_json::from_str(&text)?;
    let max = document["version"]["version"]
        .as_str()
        .ok_or("the document has no version.version")?;
    let max = Microversion::parse(max).ok_or_else(|| format!("invalid microversion {max}"))?;
    let named = ComputeRelease::from_max(max).to_string();
    if named != expected {
        return Err(format!("maximum {max} is named {named:?}, expected {expected:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = common::repo().join("fixtures/openstack/compute-versions");
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json is readable"),
    )
    .expect("expected.json is a JSON object");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the fixture directory is readable")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|name| name != "expected.json"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let want = expected
                .get(&name)
                .and_then(|value| value.as_str())
                .map(str::to_owned);
            Trial::test(name.clone(), move || match want {
                Some(want) => run_case(&path, &want),
                None => Err(format!("{name} has no entry in expected.json").into()),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
