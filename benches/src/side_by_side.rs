//! A criterion helper: one group per bench, one function per runtime.

/// Benchmarks `$body` (an expression using the runtime `$rt`) in the criterion group `$name`,
/// once per runtime: the function `tokio`, then `umcg` when the `umcg` feature is on. `$setup`
/// runs after the runtime is built and its value lives while the runtime is measured.
///
/// ```ignore
/// side_by_side!(c, "yield_many", Some(4), |rt| (), w::yield_many(&rt));
/// ```
#[macro_export]
macro_rules! side_by_side {
    ($c:expr, $name:expr, $workers:expr, |$rt:ident| $setup:expr, $body:expr) => {{
        let cfg = $crate::config::Config::from_env();
        let spec = $crate::rt::RtSpec {
            workers: $workers,
            backend: $crate::rt::UmcgBackend::Auto,
            keep_alive: None,
        };
        let mut group = $c.benchmark_group($name);
        cfg.criterion_group(&mut group);
        {
            let $rt = <$crate::rt::TokioRt as $crate::rt::Rt>::build(&spec).expect("tokio runtime");
            let _setup = $setup;
            group.bench_function("tokio", |b| b.iter(|| $body));
        }
        #[cfg(feature = "umcg")]
        {
            let $rt = <$crate::rt::UmcgRt as $crate::rt::Rt>::build(&spec).expect("umcg runtime");
            let _setup = $setup;
            group.bench_function("umcg", |b| b.iter(|| $body));
        }
        group.finish();
    }};
}
