//! The targets from the issue, each checked against the measured ratios.

use super::jobs::{Contender, SWITCH_ROW};
use super::Results;
use crate::rt::UmcgBackend;

/// One target checked for one umcg contender.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// What the target is.
    pub target: String,
    /// The umcg contender it was checked for.
    pub contender: &'static str,
    /// The measured ratio or count.
    pub measured: String,
    /// `met`, `missed` or `not measured`.
    pub status: &'static str,
}

fn value(r: &Results, row_prefix: &str, col: usize) -> Option<f64> {
    r.rows
        .iter()
        .find(|row| row.name.starts_with(row_prefix))
        .and_then(|row| row.figures.get(col).cloned().flatten())
        .map(|f| f.value)
}

fn status(measured: Option<f64>, ok: &dyn Fn(f64) -> bool) -> &'static str {
    match measured.map(|x| if x.is_nan() { None } else { Some(ok(x)) }) {
        Some(None) => "failed (see its row)",
        Some(Some(true)) => "met",
        Some(Some(false)) => "missed",
        None => "not measured",
    }
}

/// Ratio umcg/tokio of the row starting with `prefix`.
fn ratio(r: &Results, prefix: &str, tokio: usize, umcg: usize) -> Option<f64> {
    Some(value(r, prefix, umcg)? / value(r, prefix, tokio)?)
}

/// Checks every target for every umcg contender.
pub fn evaluate(r: &Results) -> Vec<Verdict> {
    let cs = &r.opts.contenders;
    let Some(t) = cs.iter().position(|c| *c == Contender::Tokio) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (u, c) in cs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != Contender::Tokio)
    {
        let c = c.label();
        let mut push = |target: String,
                        measured: Option<f64>,
                        fmt: &dyn Fn(f64) -> String,
                        ok: &dyn Fn(f64) -> bool| {
            out.push(Verdict {
                target,
                contender: c,
                measured: measured
                    .filter(|x| !x.is_nan())
                    .map_or_else(|| "—".into(), fmt),
                status: status(measured, ok),
            });
        };
        let rt = "spawn_blocking(no-op).await round trip";
        push(
            "sequential spawn_blocking round trip (p50) ≤ 1/5 of tokio's".into(),
            ratio(r, rt, t, u),
            &|x| format!("{x:.3}× tokio"),
            &|x| x <= 0.2,
        );
        let floor = r.floor.same_cpu.p50;
        push(
            "sequential spawn_blocking round trip (p50) ≤ 1.5× same-CPU futex round trip".into(),
            value(r, rt, u).filter(|_| floor > 0.0).map(|v| v / floor),
            &|x| format!("{x:.2}× floor"),
            &|x| x <= 1.5,
        );
        for n in [8, 16, 32, 64] {
            let name = format!("spawn_blocking/concurrency/{n}");
            push(
                format!("tokio's spawn_blocking bench, N = {n}: ≥ 2× tokio's throughput"),
                ratio(r, &name, t, u).map(|x| 1.0 / x),
                &|x| format!("{x:.2}× tokio's throughput"),
                &|x| x >= 2.0,
            );
        }
        for name in [
            "spawn_many_local",
            "spawn_many_remote_idle",
            "spawn_many_remote_busy1",
            "spawn_many_remote_busy2",
            "yield_many",
            "ping_pong",
            "chained_spawn",
        ] {
            push(
                format!("{name} ≤ 1.2× tokio's time"),
                ratio(r, name, t, u),
                &|x| format!("{x:.2}× tokio"),
                &|x| x <= 1.2,
            );
        }
        push(
            "after the 10,000-call burst and the idle timeout: no more threads than before it"
                .into(),
            value(r, "runtime's threads above its pre-burst count", u),
            &|x| format!("{x:+.0} threads"),
            &|x| x <= 0.0,
        );
        if cs[u] == Contender::Umcg(UmcgBackend::Kernel) {
            // The emulation's switch, when it ran beside the kernel's, in the same unit.
            let emulation = cs
                .iter()
                .position(|c| *c == Contender::Umcg(UmcgBackend::Emulated))
                .and_then(|e| value(r, SWITCH_ROW, e))
                .filter(|e| !e.is_nan() && floor > 0.0)
                .map(|e| e / floor);
            let below = emulation.map_or(String::new(), |_| " and below the emulation's".into());
            push(
                format!(
                    "kernel backend: {SWITCH_ROW} (p50) ≤ 0.5× same-CPU futex round trip{below}"
                ),
                value(r, SWITCH_ROW, u)
                    .filter(|_| floor > 0.0)
                    .map(|v| v / floor),
                &|x| match emulation {
                    Some(e) => format!("{x:.2}× floor (emulation {e:.2}×)"),
                    None => format!("{x:.2}× floor"),
                },
                &|x| x <= 0.5 && emulation.is_none_or(|e| x < e),
            );
        }
    }
    out
}
