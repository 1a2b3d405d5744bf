//! Positive detection: only a complete, consistent advertisement of ABI v1 is accepted.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use umcg_sys::detect::{probe_dir, Unavailable};

/// An advertisement directory written for one test, removed when the test is done with it.
struct Advert(PathBuf);

impl Deref for Advert {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Advert {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn advert(name: &str, files: &[(&str, &str)]) -> Advert {
    let dir = std::env::temp_dir().join(format!("umcg-detect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (f, v) in files {
        std::fs::write(dir.join(f), v).unwrap();
    }
    Advert(dir)
}

const GOOD: [(&str, &str); 4] = [
    ("version", "1\n"),
    ("umcg_ctl", "500\n"),
    ("umcg_wait", "501\n"),
    ("umcg_kick", "502\n"),
];

#[test]
fn complete_advertisement_is_accepted() {
    let abi = probe_dir(&advert("good", &GOOD)).unwrap();
    assert_eq!((abi.nr_ctl, abi.nr_wait, abi.nr_kick), (500, 501, 502));
}

#[test]
fn missing_directory_is_not_advertised() {
    assert!(matches!(
        probe_dir(&advert("empty", &[])),
        Err(Unavailable::NotAdvertised)
    ));
}

#[test]
fn other_version_is_refused() {
    let mut files = GOOD;
    files[0].1 = "2\n";
    assert!(matches!(
        probe_dir(&advert("v2", &files)),
        Err(Unavailable::Version(2))
    ));
}

#[test]
fn missing_or_garbled_number_is_malformed() {
    assert!(matches!(
        probe_dir(&advert("partial", &GOOD[..3])),
        Err(Unavailable::Malformed(_))
    ));
    let mut files = GOOD;
    files[2].1 = "five hundred";
    assert!(matches!(
        probe_dir(&advert("garbled", &files)),
        Err(Unavailable::Malformed(_))
    ));
}

#[test]
fn duplicate_or_negative_numbers_are_malformed() {
    let mut files = GOOD;
    files[2].1 = "500";
    assert!(matches!(
        probe_dir(&advert("dup", &files)),
        Err(Unavailable::Malformed(_))
    ));
    files[2].1 = "-1";
    assert!(matches!(
        probe_dir(&advert("neg", &files)),
        Err(Unavailable::Malformed(_))
    ));
}

#[test]
fn running_kernel_probe_is_consistent() {
    let probed = umcg_sys::detect::probe();
    let on_disk = std::path::Path::new(umcg_sys::detect::SYSFS_DIR).exists();
    match probed {
        Ok(_) => assert!(on_disk),
        Err(Unavailable::NotAdvertised) => {
            assert!(!on_disk);
            eprintln!("SKIP: kernel UMCG not advertised on this host");
        }
        Err(e) => panic!("kernel advertises UMCG but it is unusable: {e}"),
    }
}
