//! A small persistent thread pool for splitting one matrix product across cores.
//!
//! Decoding one token runs ~200 products of a few hundred microseconds each, so a job must reach
//! the workers in microseconds: workers spin briefly on a generation counter, then sleep on a
//! condvar (so an idle engine costs nothing, and a busy neighbour on a shared core is not starved
//! for long). Parts are claimed, not assigned: the caller claims parts too, so a worker that the OS
//! has not scheduled (another process on the core) costs nothing — the caller does its part — and
//! a shared 2-core machine degrades to one-thread speed instead of collapsing. A pool busy with
//! another session's product makes the caller run its parts inline rather than wait.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

type Task = dyn Fn(usize) + Sync;

#[derive(Clone, Copy)]
struct Job {
    f: *const Task,
    parts: usize,
}

// SAFETY: the pointer is only dereferenced while `Pool::run` waits for every worker to finish.
unsafe impl Send for Job {}

struct Shared {
    generation: AtomicU64,
    /// The job's generation (high 32 bits) and its next unclaimed part (low 32 bits).
    claim: AtomicU64,
    /// Parts of the current job finished.
    done: AtomicUsize,
    stop: AtomicBool,
    job: Mutex<Option<Job>>,
    sleep: Mutex<()>,
    wake: Condvar,
}

pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    busy: Mutex<()>,
}

const SPINS: u32 = 50_000;

impl Pool {
    pub fn new(threads: usize) -> Pool {
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            claim: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            job: Mutex::new(None),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut workers = Vec::new();
        for idx in 1..threads.max(1) {
            let shared = shared.clone();
            let spawned = std::thread::Builder::new().name(format!("brain-model-{idx}")).spawn(move || worker(&shared, idx));
            match spawned {
                Ok(h) => workers.push(h),
                Err(_) => break, // fewer threads; still correct
            }
        }
        Pool { shared, workers, busy: Mutex::new(()) }
    }

    /// Threads that can take a part (the caller included).
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `f(i)` for every `i` in `0..parts` (any number of parts; the calling thread and the
    /// workers claim them) and returns when all are done.
    pub fn run(&self, parts: usize, f: &(dyn Fn(usize) + Sync)) {
        let inline = || (0..parts).for_each(f);
        if parts <= 1 || self.workers.is_empty() {
            return inline();
        }
        let Ok(_busy) = self.busy.try_lock() else { return inline() };
        // SAFETY: the borrow outlives its use: this function waits until no worker runs `f`.
        let f_static = unsafe { erase(f) };
        if let Ok(mut j) = self.shared.job.lock() {
            *j = Some(Job { f: f_static, parts });
        }
        let generation = self.shared.generation.load(Ordering::Acquire) + 1;
        self.shared.done.store(0, Ordering::Release);
        self.shared.claim.store(generation << 32, Ordering::Release);
        {
            let _g = self.shared.sleep.lock();
            self.shared.generation.store(generation, Ordering::Release);
            self.shared.wake.notify_all();
        }
        run_parts(&self.shared, generation, parts, f);
        let mut spins = 0u32;
        while self.shared.done.load(Ordering::Acquire) < parts {
            spins += 1;
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// Claims and runs parts of job `generation` until none is left.
fn run_parts(shared: &Shared, generation: u64, parts: usize, f: &(dyn Fn(usize) + Sync)) {
    loop {
        let cur = shared.claim.load(Ordering::Acquire);
        let (g, next) = (cur >> 32, (cur & 0xffff_ffff) as usize);
        if g != (generation & 0xffff_ffff) || next >= parts {
            return;
        }
        if shared.claim.compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(next)));
            shared.done.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Forgets the borrow's lifetime.
///
/// # Safety
/// The caller must not let the pointer be used after `f`'s borrow ends.
unsafe fn erase<'a>(f: &'a (dyn Fn(usize) + Sync + 'a)) -> *const Task {
    // SAFETY: same fat-pointer layout; the lifetime is the caller's promise.
    unsafe { std::mem::transmute::<&'a (dyn Fn(usize) + Sync + 'a), *const Task>(f) }
}

fn worker(shared: &Shared, idx: usize) {
    let mut seen = 0u64;
    loop {
        let mut spins = 0u32;
        loop {
            if shared.stop.load(Ordering::Acquire) {
                return;
            }
            let g = shared.generation.load(Ordering::Acquire);
            if g != seen {
                seen = g;
                break;
            }
            spins += 1;
            if spins < SPINS {
                std::hint::spin_loop();
            } else {
                let guard = shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
                if shared.generation.load(Ordering::Acquire) == seen && !shared.stop.load(Ordering::Acquire) {
                    let _ = shared.wake.wait_timeout(guard, Duration::from_millis(50));
                }
                spins = 0;
            }
        }
        let job = shared.job.lock().ok().and_then(|j| *j);
        if let Some(job) = job {
            // SAFETY: a part of generation `seen` can only be claimed while `run` waits for that
            // job's parts to finish, so `f` is alive whenever it is called.
            let f = unsafe { &*job.f };
            run_parts(shared, seen, job.parts, f);
        }
        let _ = idx;
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _g = self.shared.sleep.lock();
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_per_job_across_many_jobs() {
        let pool = Pool::new(3);
        let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..2000 {
            pool.run(3, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        for h in &hits {
            assert_eq!(h.load(Ordering::Relaxed), 2000);
        }
        // Concurrent callers: one gets the pool, the other runs inline; both complete.
        let pool = Arc::new(pool);
        let total = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..2 {
                let (pool, total) = (pool.clone(), total.clone());
                s.spawn(move || {
                    for _ in 0..500 {
                        pool.run(2, &|_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 2000);
    }
}
