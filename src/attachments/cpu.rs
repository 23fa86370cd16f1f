//! Threads of their own for image work, at the lowest scheduling priority (`SCHED_IDLE` on
//! Linux): a thumbnail takes only CPU time that nothing else on the node wants, so the chat
//! path keeps its latency while images are decoded beside it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use thread_priority::{
    set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadPriority,
    ThreadSchedulePolicy,
};

type Job = Box<dyn FnOnce() + Send>;

/// Cloning shares the threads.
#[derive(Clone)]
pub struct CpuPool {
    jobs: mpsc::Sender<Job>,
}

impl CpuPool {
    /// Starts `threads` threads named `name`.
    pub fn new(name: &str, threads: usize) -> std::io::Result<CpuPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
                    if let Err(err) = set_thread_priority_and_policy(
                        thread_native_id(),
                        ThreadPriority::Min,
                        idle,
                    ) {
                        log::warn!(cause:? = err; "image threads run at normal priority");
                    }
                    loop {
                        let job = {
                            let queue = queue.lock().unwrap_or_else(|e| e.into_inner());
                            queue.recv()
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(CpuPool { jobs })
    }

    /// Runs `work` on one of the threads and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the image threads are gone"))?;
        Ok(result.await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn work_runs_on_the_pools_threads() {
        let pool = CpuPool::new("test-cpu", 2).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("test-cpu-"));
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
    }
}
