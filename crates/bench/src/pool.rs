//! A fixed number of worker tasks draining one queue: the bench's only concurrency primitive.
//!
//! Tasks, not one task polling many futures, so the JSON work of the responses is spread over
//! every runtime thread and the client stays ahead of the server.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use crate::client::Stopped;

/// Runs `work` on every item, `concurrency` at a time, in queue order. Returns Err once any
/// worker hit the deadline; the others stop at their next item.
pub(crate) async fn run_all<T, F, Fut>(
    concurrency: usize,
    items: Vec<T>,
    work: F,
) -> Result<(), Stopped>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Stopped>> + Send,
{
    let workers = concurrency.clamp(1, items.len().max(1));
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let work = Arc::new(work);
    let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (queue, work, stopped) = (queue.clone(), work.clone(), stopped.clone());
        tasks.spawn(async move {
            use std::sync::atomic::Ordering::Relaxed;
            while !stopped.load(Relaxed) {
                // The guard is dropped before the await: the lock is never held across I/O.
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                let Some(item) = next else { break };
                if work(item).await.is_err() {
                    stopped.store(true, Relaxed);
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            // A panic is a bug in the bench, not a server error: surface it.
            std::panic::resume_unwind(e.into_panic());
        }
    }
    if stopped.load(std::sync::atomic::Ordering::Relaxed) {
        Err(Stopped)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_item_is_processed_once_and_in_flight_never_exceeds_concurrency() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let sum = Arc::new(AtomicUsize::new(0));
        let (f, p, s) = (in_flight.clone(), peak.clone(), sum.clone());
        run_all(3, (1..=100).collect(), move |i: usize| {
            let (f, p, s) = (f.clone(), p.clone(), s.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                s.fetch_add(i, Ordering::SeqCst);
                f.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(sum.load(Ordering::SeqCst), 5050);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[tokio::test]
    async fn a_stopped_item_stops_the_pool() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let result = run_all(1, (0..10).collect(), move |i: usize| {
            let d = d.clone();
            async move {
                if i == 3 {
                    return Err(Stopped);
                }
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(done.load(Ordering::SeqCst), 3);
    }
}
