//! `abi.rs` against the kernel's `include/uapi/linux/umcg.h`, compiled with the C compiler.
//!
//! The header is taken from `UMCG_KERNEL_HEADERS` (an installed-headers include dir, holding
//! `linux/umcg.h`), else from the newest kernel build of this repository:
//! `kernel/build/cache/<key>/headers` (kernel-infra's `build.sh`) or
//! `kernel/build/src-*/usr/include` (a tree after `make headers_install`). A tiny C program
//! prints sizeof/alignof/offsetof of `struct umcg_task` and every `UMCG_*` constant; any
//! difference from `abi.rs` fails. Without a header (or `cc`) the test prints `SKIP:` on the
//! real stderr; with `UMCG_REQUIRE_KERNEL_HEADER=1` that is a failure.
//!
//! The comparison itself is checked on a header generated from `abi.rs` (must match) and on a
//! mutated one (must not), so this test can fail on any host.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use umcg_sys::abi::*;

/// What `abi.rs` says: (name, value) for layout and constants.
fn expected() -> BTreeMap<&'static str, u64> {
    use std::mem::{align_of, offset_of, size_of};
    let mut m = BTreeMap::new();
    m.insert("sizeof", size_of::<umcg_task>() as u64);
    m.insert("alignof", align_of::<umcg_task>() as u64);
    for (name, off) in [
        ("offsetof.state", offset_of!(umcg_task, state)),
        ("offsetof.next_tid", offset_of!(umcg_task, next_tid)),
        ("offsetof.server_tid", offset_of!(umcg_task, server_tid)),
        ("offsetof.__hole", offset_of!(umcg_task, __hole)),
        ("offsetof.blocked_ts", offset_of!(umcg_task, blocked_ts)),
        ("offsetof.runnable_ts", offset_of!(umcg_task, runnable_ts)),
        (
            "offsetof.blocked_workers_ptr",
            offset_of!(umcg_task, blocked_workers_ptr),
        ),
        (
            "offsetof.runnable_workers_ptr",
            offset_of!(umcg_task, runnable_workers_ptr),
        ),
        ("offsetof.__zero", offset_of!(umcg_task, __zero)),
    ] {
        m.insert(name, off as u64);
    }
    for (name, v) in REQUIRED {
        m.insert(name, v as u64);
    }
    m
}

/// Constants the header must define, with `abi.rs`'s values.
const REQUIRED: [(&str, u32); 16] = [
    ("UMCG_TASK_NONE", UMCG_TASK_NONE),
    ("UMCG_TASK_RUNNING", UMCG_TASK_RUNNING),
    ("UMCG_TASK_RUNNABLE", UMCG_TASK_RUNNABLE),
    ("UMCG_TASK_BLOCKED", UMCG_TASK_BLOCKED),
    ("UMCG_TASK_MASK", UMCG_TASK_MASK),
    ("UMCG_TF_PREEMPT", UMCG_TF_PREEMPT),
    ("UMCG_TF_COND_WAIT", UMCG_TF_COND_WAIT),
    ("UMCG_TF_MASK", UMCG_TF_MASK),
    ("UMCG_TID_RUNNING", UMCG_TID_RUNNING),
    ("UMCG_TID_MASK", UMCG_TID_MASK),
    ("UMCG_CTL_REGISTER", UMCG_CTL_REGISTER),
    ("UMCG_CTL_UNREGISTER", UMCG_CTL_UNREGISTER),
    ("UMCG_CTL_WORKER", UMCG_CTL_WORKER),
    ("UMCG_CTL_MULTI", UMCG_CTL_MULTI),
    ("UMCG_CTL_COOP", UMCG_CTL_COOP),
    ("UMCG_WAIT_ENQUEUE", UMCG_WAIT_ENQUEUE),
];

/// Constants compared only if the header defines them.
const OPTIONAL: [(&str, u64); 3] = [
    ("UMCG_TASK_ALIGN", UMCG_TASK_ALIGN as u64),
    ("UMCG_CTL_CMD_MASK", UMCG_CTL_CMD_MASK as u64),
    ("UMCG_ABI_VERSION", UMCG_ABI_VERSION as u64),
];

/// The C program that prints what the header says, one `name value` per line.
fn probe_source() -> String {
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/umcg.h>\nint main(void) {\n",
    );
    c += "printf(\"sizeof %zu\\n\", sizeof(struct umcg_task));\n";
    c += "printf(\"alignof %zu\\n\", _Alignof(struct umcg_task));\n";
    for field in [
        "state",
        "next_tid",
        "server_tid",
        "__hole",
        "blocked_ts",
        "runnable_ts",
        "blocked_workers_ptr",
        "runnable_workers_ptr",
        "__zero",
    ] {
        c +=
            &format!("printf(\"offsetof.{field} %zu\\n\", offsetof(struct umcg_task, {field}));\n");
    }
    for (name, _) in REQUIRED {
        c += &format!("printf(\"{name} %llu\\n\", (unsigned long long)({name}));\n");
    }
    for (name, _) in OPTIONAL {
        c += &format!(
            "#ifdef {name}\nprintf(\"{name} %llu\\n\", (unsigned long long)({name}));\n#endif\n"
        );
    }
    c + "return 0;\n}\n"
}

/// Compiles and runs the probe against `include`; returns the header's view.
fn header_view(include: &Path, work: &Path) -> Result<BTreeMap<String, u64>, String> {
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let src = work.join("umcg_abi_probe.c");
    let exe = work.join("umcg_abi_probe");
    std::fs::write(&src, probe_source()).map_err(|e| e.to_string())?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .arg("-std=c11")
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cc} failed on {}:\n{}",
            include.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let run = Command::new(&exe).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&run.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}

/// Every difference between the header's view and `abi.rs`.
fn differences(view: &BTreeMap<String, u64>) -> Vec<String> {
    let mut diffs = Vec::new();
    for (name, want) in expected() {
        match view.get(name) {
            Some(&got) if got == want => {}
            Some(&got) => diffs.push(format!("{name}: header {got:#x}, abi.rs {want:#x}")),
            None => diffs.push(format!("{name}: missing from the header")),
        }
    }
    for (name, want) in OPTIONAL {
        if let Some(&got) = view.get(name) {
            if got != want {
                diffs.push(format!("{name}: header {got:#x}, abi.rs {want:#x}"));
            }
        }
    }
    diffs
}

/// The header dir to test: `UMCG_KERNEL_HEADERS`, else the newest build in `kernel/build`.
fn find_headers() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("UMCG_KERNEL_HEADERS") {
        return Some(PathBuf::from(dir));
    }
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernel/build");
    let mut candidates: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(&build).into_iter().flatten().flatten() {
        let p = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "cache" {
            for c in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                candidates.push(c.path().join("headers"));
            }
        } else if name.starts_with("src-") {
            candidates.push(p.join("usr/include"));
        }
    }
    candidates
        .into_iter()
        .filter(|d| d.join("linux/umcg.h").is_file())
        .max_by_key(|d| {
            std::fs::metadata(d.join("linux/umcg.h"))
                .and_then(|m| m.modified())
                .ok()
        })
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("umcg-abi-header-{name}-{}", std::process::id()))
}

fn cc_available() -> bool {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc).arg("--version").output().is_ok()
}

fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIP: abi_header: {why}");
}

#[test]
fn abi_rs_matches_the_kernel_header() {
    let required = std::env::var("UMCG_REQUIRE_KERNEL_HEADER").as_deref() == Ok("1");
    let Some(dir) = find_headers() else {
        let why = "no linux/umcg.h (set UMCG_KERNEL_HEADERS or build the kernel: \
                   kernel/scripts/build.sh)";
        assert!(!required, "UMCG_REQUIRE_KERNEL_HEADER=1: {why}");
        return skip(why);
    };
    if !cc_available() {
        assert!(!required, "UMCG_REQUIRE_KERNEL_HEADER=1 but no C compiler");
        return skip("no C compiler (cc)");
    }
    let work = scratch("kernel");
    let view = header_view(&dir, &work);
    let _ = std::fs::remove_dir_all(&work);
    let view = view.unwrap();
    let diffs = differences(&view);
    assert!(
        diffs.is_empty(),
        "abi.rs differs from {}/linux/umcg.h:\n  {}",
        dir.display(),
        diffs.join("\n  ")
    );
    let _ = writeln!(
        std::io::stderr(),
        "abi_header: abi.rs matches {}",
        dir.display()
    );
}

/// A header written from `abi.rs`'s values, with `poke` applied to its text.
fn synthetic_header(dir: &Path, poke: impl Fn(String) -> String) -> PathBuf {
    let include = dir.join("include");
    std::fs::create_dir_all(include.join("linux")).unwrap();
    let fields = [
        "uint32_t state;",
        "uint32_t next_tid;",
        "uint32_t server_tid;",
        "uint32_t __hole[1];",
        "uint64_t blocked_ts;",
        "uint64_t runnable_ts;",
        "uint64_t blocked_workers_ptr;",
        "uint64_t runnable_workers_ptr;",
        "uint64_t __zero[2];",
    ];
    let mut h = String::from("#ifndef SYNTH_UMCG_H\n#define SYNTH_UMCG_H\n#include <stdint.h>\n");
    h += "struct umcg_task {\n";
    for f in fields {
        h += &format!("\t{f}\n");
    }
    h += "} __attribute__((packed, aligned(64)));\n";
    for (name, v) in REQUIRED {
        h += &format!("#define {name} {v:#x}u\n");
    }
    h += "#endif\n";
    std::fs::write(include.join("linux/umcg.h"), poke(h)).unwrap();
    include
}

#[test]
fn comparison_accepts_a_matching_header_and_rejects_a_changed_one() {
    if !cc_available() {
        return skip("no C compiler (cc): comparison self-test not run");
    }
    let dir = scratch("synthetic");
    let good = synthetic_header(&dir.join("good"), |h| h);
    let view = header_view(&good, &dir.join("good")).unwrap();
    assert_eq!(differences(&view), Vec::<String>::new());

    let swapped = synthetic_header(&dir.join("swapped"), |h| {
        h.replace("blocked_workers_ptr;", "TMP;")
            .replace("runnable_workers_ptr;", "blocked_workers_ptr;")
            .replace("TMP;", "runnable_workers_ptr;")
    });
    let diffs = differences(&header_view(&swapped, &dir.join("swapped")).unwrap());
    assert_eq!(diffs.len(), 2, "{diffs:?}");

    let renumbered = synthetic_header(&dir.join("renumbered"), |h| {
        h.replace(
            "#define UMCG_CTL_COOP 0x40000u",
            "#define UMCG_CTL_COOP 0x80000u",
        )
    });
    let diffs = differences(&header_view(&renumbered, &dir.join("renumbered")).unwrap());
    assert_eq!(
        diffs,
        vec!["UMCG_CTL_COOP: header 0x80000, abi.rs 0x40000".to_string()]
    );
    let _ = std::fs::remove_dir_all(dir);
}
