//! Markdown rendering, and splicing a report into RESULTS.md as a named section.

use super::jobs::fmt_value;
use super::targets;
use super::{Figure, Results, Unit};
use crate::criterion_io;
use crate::machine;
use crate::stats::ns;
use std::fmt::Write as _;
use std::path::Path;

fn cell(f: &Option<Figure>, unit: Unit) -> String {
    match f {
        None => "—".into(),
        Some(f) if f.value.is_nan() => format!("**{}**", f.detail),
        Some(f) => {
            let spread = f
                .spread
                .map_or(String::new(), |s| format!(" ±{:.1}%", s * 50.0));
            format!("{}{spread} ({})", fmt_value(f.value, unit), f.detail)
        }
    }
}

fn header(r: &Results, s: &mut String) {
    let o = &r.opts;
    let mode = if o.cfg.quick {
        "quick (BENCH_QUICK=1)"
    } else {
        "full"
    };
    let _ = writeln!(s, "### Figures from: {}\n", o.place);
    let _ = writeln!(s, "| machine | |\n|---|---|");
    let _ = writeln!(
        s,
        "| CPU | {} ({} CPUs allowed) |",
        machine::cpu_model(),
        crate::floor::cpus()
    );
    let _ = writeln!(s, "| kernel | {} |", machine::kernel_release());
    let _ = writeln!(
        s,
        "| UMCG backend detected | {} |",
        machine::backend_detected()
    );
    let _ = writeln!(s, "| date | {} |", machine::utc_now());
    let _ = writeln!(s, "| source | {} |", o.source);
    let _ = writeln!(
        s,
        "| mode | {mode}; each figure the median of {} run(s), ± half the spread |",
        o.repeat.max(1)
    );
    let labels: Vec<_> = o.contenders.iter().map(|c| c.label()).collect();
    let _ = writeln!(s, "| runtimes | {} |\n", labels.join(", "));
}

fn targets_table(r: &Results, s: &mut String) {
    let v = targets::evaluate(r);
    if v.is_empty() {
        let _ = writeln!(
            s,
            "Targets: no umcg runtime in this run (built without the `umcg` feature).\n"
        );
        return;
    }
    let mut labels: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for t in &v {
        if !labels.contains(&t.contender) {
            labels.push(t.contender);
        }
        if !names.contains(&t.target.as_str()) {
            names.push(&t.target);
        }
    }
    let heads: String = labels.iter().map(|l| format!(" {l} |")).collect();
    let _ = writeln!(s, "#### Targets\n\n| target |{heads}");
    let _ = writeln!(s, "|---|{}", "---|".repeat(labels.len()));
    for name in names {
        let _ = write!(s, "| {name} |");
        for label in &labels {
            let cell = v
                .iter()
                .find(|t| t.target == name && t.contender == *label)
                .map_or(String::new(), |t| match t.measured.as_str() {
                    "—" => t.status.to_string(),
                    m => format!("{m}: **{}**", t.status),
                });
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
}

fn floor_table(r: &Results, s: &mut String) {
    let f = &r.floor;
    let _ = writeln!(
        s,
        "#### Floor: futex wake + wait round trip between two pinned threads\n"
    );
    let _ = writeln!(s, "| placement | p50 | mean | p99 |\n|---|---|---|---|");
    let spread = |x: Option<f64>| x.map_or(String::new(), |x| format!(" ±{:.1}%", x * 50.0));
    let _ = writeln!(
        s,
        "| same CPU | {}{} | {} | {} |",
        ns(f.same_cpu.p50),
        spread(f.same_spread),
        ns(f.same_cpu.mean),
        ns(f.same_cpu.p99)
    );
    match &f.cross_cpu {
        Some(c) => {
            let _ = writeln!(
                s,
                "| cross CPU | {}{} | {} | {} |",
                ns(c.p50),
                spread(f.cross_spread),
                ns(c.mean),
                ns(c.p99)
            );
        }
        None => {
            let _ = writeln!(s, "| cross CPU | — (one CPU) | | |");
        }
    }
    let _ = writeln!(s);
}

fn results_table(r: &Results, s: &mut String) {
    let cs = &r.opts.contenders;
    let tokio = cs.iter().position(|c| *c == super::Contender::Tokio);
    let _ = write!(s, "#### Results\n\n| bench | headline |");
    let mut sep = String::from("|---|---|");
    for c in cs {
        let _ = write!(s, " {} |", c.label());
        sep.push_str("---|");
        if *c != super::Contender::Tokio {
            let _ = write!(s, " {0}/tokio | {0}/floor |", c.label());
            sep.push_str("---|---|");
        }
    }
    let crit = r.opts.criterion_dir.as_deref();
    if crit.is_some() {
        for c in cs {
            let _ = write!(s, " criterion mean {} |", c.label());
            sep.push_str("---|");
        }
    }
    let _ = writeln!(s, "\n{sep}");
    let mut section = "";
    for row in &r.rows {
        if row.section != section {
            section = row.section;
            let _ = writeln!(
                s,
                "| *{section}* | |{}",
                " |".repeat(sep.matches("---").count() - 2)
            );
        }
        let _ = write!(s, "| {} | {} |", row.name, row.headline);
        let base = tokio.and_then(|t| row.figures[t].as_ref()).map(|f| f.value);
        for (c, f) in cs.iter().zip(&row.figures) {
            let _ = write!(s, " {} |", cell(f, row.unit));
            if *c != super::Contender::Tokio {
                let v = f.as_ref().map(|f| f.value).filter(|v| !v.is_nan());
                let vs_tokio = match (v, base, row.unit) {
                    (Some(v), Some(b), Unit::Ns) if b > 0.0 => format!("{:.3}", v / b),
                    (Some(v), Some(b), Unit::Count) => format!("{v:+.0} vs {b:+.0}"),
                    _ => "—".into(),
                };
                let floor = r.floor.same_cpu.p50;
                let vs_floor = match v {
                    Some(v) if row.vs_floor && floor > 0.0 => format!("{:.2}", v / floor),
                    _ => String::new(),
                };
                let _ = write!(s, " {vs_tokio} | {vs_floor} |");
            }
        }
        if let Some(dir) = crit {
            for c in cs {
                let mean = row
                    .criterion
                    .as_ref()
                    .and_then(|id| criterion_io::mean_ns(dir, &id.replace("{rt}", c.label())));
                let _ = write!(s, " {} |", mean.map_or_else(String::new, ns));
            }
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s);
}

/// Renders the whole report.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    header(r, &mut s);
    if let Some(why) = &r.stopped {
        let _ = writeln!(s, "**Stopped early: {why}.**\n");
    }
    targets_table(r, &mut s);
    floor_table(r, &mut s);
    results_table(r, &mut s);
    s
}

/// Replaces the section `name` of the markdown file at `path` (between `<!-- section:NAME -->`
/// and `<!-- /section:NAME -->`) with `body`, appending the section if it is new and creating
/// the file with `preamble` if it does not exist.
pub fn write_section(path: &Path, preamble: &str, name: &str, body: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| preamble.to_string());
    let (open, close) = (
        format!("<!-- section:{name} -->"),
        format!("<!-- /section:{name} -->"),
    );
    let block = format!("{open}\n{body}{close}\n");
    let new = match (old.find(&open), old.find(&close)) {
        (Some(a), Some(b)) if a < b => {
            let end = b + close.len() + usize::from(old[b + close.len()..].starts_with('\n'));
            format!("{}{block}{}", &old[..a], &old[end..])
        }
        _ => format!("{}\n\n{block}", old.trim_end()),
    };
    std::fs::write(path, new)
}

#[cfg(test)]
mod tests {
    use super::write_section;

    #[test]
    fn sections_are_replaced_in_place() {
        let dir = std::env::temp_dir().join(format!("umcg-benches-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("R.md");
        let _ = std::fs::remove_file(&p);
        write_section(&p, "# R\n", "host", "one\n").unwrap();
        write_section(&p, "# R\n", "guest", "two\n").unwrap();
        write_section(&p, "# R\n", "host", "three\n").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "# R\n\n<!-- section:host -->\nthree\n<!-- /section:host -->\n\n<!-- section:guest -->\ntwo\n<!-- /section:guest -->\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
