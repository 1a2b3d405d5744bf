//! Runs every workload on tokio and umcg side by side, plus the futex floor, and prints a
//! markdown report; with `--out FILE` also writes it into FILE as the section `--section`.
//!
//! ```text
//! report [--out RESULTS.md] [--section host] [--place TEXT] [--source TEXT] [--criterion-dir DIR]
//!        [--contenders tokio,umcg] [--repeat K] [--only rt_multi,spawn_blocking,...]
//!        [--tmpdir DIR] [--markers]
//! report --splice MARKDOWN_FILE --out RESULTS.md --section NAME
//! ```
//! `--markers` frames the markdown with marker lines so that a guest's console log can be cut;
//! `--splice` writes an already rendered report (cut from such a log) into a section.
//! `BENCH_QUICK=1` shortens every measurement (smoke runs).

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use umcg_benches::config::Config;
use umcg_benches::report::{self, Contender, Options};

const PREAMBLE: &str = "# Benchmark results\n\nWritten by `benches/run.sh` (host) and `benches/guest.sh` (guest); \
see `benches/README.md` for what each bench measures. Each section is replaced by the run that produced it.\n";

/// Marker lines around the markdown with `--markers`.
const MARK_BEGIN: &str = "==== umcg-benches report begin ====";
/// See [`MARK_BEGIN`].
const MARK_END: &str = "==== umcg-benches report end ====";

fn usage() -> ! {
    eprintln!(
        "usage: report [--out FILE] [--section NAME] [--place TEXT] [--source TEXT] [--criterion-dir DIR] \
         [--contenders tokio,umcg,umcg-kernel,umcg-emulated] [--repeat K] [--only WORDS] [--tmpdir DIR] [--markers] | --splice FILE --out FILE --section NAME"
    );
    std::process::exit(2)
}

fn main() {
    let mut opts = Options {
        cfg: Config::from_env(),
        contenders: vec![Contender::Tokio, Contender::parse("umcg").expect("label")],
        criterion_dir: None,
        place: "host".into(),
        source: "unknown (run through benches/run.sh or guest.sh to record the commit)".into(),
        tmpdir: std::env::temp_dir().join("umcg-benches"),
        repeat: 1,
        only: Vec::new(),
    };
    let (mut out, mut section) = (None::<PathBuf>, String::from("host"));
    let (mut splice, mut markers, mut job) = (None::<PathBuf>, false, None::<usize>);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--out" => out = Some(val().into()),
            "--section" => section = val(),
            "--place" => opts.place = val(),
            "--source" => opts.source = val(),
            "--criterion-dir" => opts.criterion_dir = Some(val().into()),
            "--tmpdir" => opts.tmpdir = val().into(),
            "--splice" => splice = Some(val().into()),
            "--markers" => markers = true,
            "--run-job" => job = Some(val().parse().unwrap_or_else(|_| usage())),
            "--repeat" => opts.repeat = val().parse().unwrap_or_else(|_| usage()),
            "--only" => opts.only = val().split(',').map(str::to_string).collect(),
            "--contenders" => {
                opts.contenders = val()
                    .split(',')
                    .map(|c| Contender::parse(c).unwrap_or_else(|| usage()))
                    .collect()
            }
            _ => usage(),
        }
    }
    if let Some(index) = job {
        report::run_job(&opts, index);
        return;
    }
    if let Some(src) = splice {
        let md = std::fs::read_to_string(&src).expect("read the report to splice");
        let path = out.unwrap_or_else(|| usage());
        report::write_section(&path, PREAMBLE, &section, &md).expect("write the report");
        eprintln!("wrote section `{section}` of {}", path.display());
        return;
    }
    for c in &opts.contenders {
        if !c.available() {
            eprintln!(
                "note: {} is not built (enable the `umcg` feature); its column stays empty",
                c.label()
            );
        }
    }
    OUTPUT
        .set(Output {
            out,
            section,
            markers,
        })
        .expect("set once");
    emit(&report::run(opts, emit));
}

/// Where the report goes, for [`emit`] (also called by the watchdog on a timeout).
#[derive(Debug)]
struct Output {
    out: Option<PathBuf>,
    section: String,
    markers: bool,
}

static OUTPUT: OnceLock<Output> = OnceLock::new();

/// Prints the report and writes it into its section of the output file.
fn emit(results: &report::Results) {
    let o = OUTPUT.get().expect("output set before the run");
    let md = report::markdown(results);
    if o.markers {
        // A guest's serial console lost a chunk of one large write: write line by line, flushed,
        // paced, so every line reaches the console log.
        let mut out = std::io::stdout().lock();
        for line in std::iter::once(MARK_BEGIN)
            .chain(md.lines())
            .chain([MARK_END])
        {
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .expect("write stdout");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    } else {
        println!("{md}");
    }
    if let Some(path) = &o.out {
        report::write_section(path, PREAMBLE, &o.section, &md).expect("write the report");
        eprintln!("wrote section `{}` of {}", o.section, path.display());
    }
}
