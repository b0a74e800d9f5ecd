//! [`Until`]: a wait on a running server's statistics that async code can await, with any
//! runtime or none.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::engine::{Control, Look, Stats, Waiting};

/// The future returned by [`ServerHandle::until`](crate::ServerHandle::until): ready with the
/// [`Stats`] that satisfied its condition, or with `None` once the server has stopped without
/// them satisfying it.
///
/// It needs no runtime of its own and no timer: the server's workers wake it when their
/// counters move (at the end of each turn of their event loop). For a time limit, wrap it
/// in the runtime's timeout (`tokio::time::timeout`, say).
///
/// # Examples
///
/// `block_on` stands for any executor's (tokio's runtime, `futures::executor::block_on`);
/// here it is twenty lines of std, hidden.
///
/// ```
/// use socket_echo::{EchoClient, EchoServer};
///
/// # fn block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     use std::sync::Arc;
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct Unpark(std::thread::Thread);
/// #     impl Wake for Unpark {
/// #         fn wake(self: Arc<Self>) {
/// #             self.0.unpark()
/// #         }
/// #     }
/// #     let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
/// #     let mut future = std::pin::pin!(future);
/// #     loop {
/// #         if let Poll::Ready(out) = future.as_mut().poll(&mut Context::from_waker(&waker)) {
/// #             return out;
/// #         }
/// #         std::thread::park();
/// #     }
/// # }
/// let handle = EchoServer::bind("127.0.0.1:0")?.spawn()?;
/// let addr = handle.local_addr();
/// let client = std::thread::spawn(move || EchoClient::connect(addr)?.echo(b"async"));
/// let stats = block_on(handle.until(|s| s.bytes_out >= 5)).expect("the server is running");
/// assert_eq!(stats.bytes_out, 5);
/// client.join().unwrap()?;
/// # Ok::<(), socket_echo::Error>(())
/// ```
#[must_use = "a future does nothing unless it is awaited"]
pub struct Until<'a, F> {
    control: &'a Control,
    condition: F,
    /// Counted in among the server's waits from the first poll until dropped.
    waiting: Option<Waiting<'a>>,
}

impl<'a, F: FnMut(&Stats) -> bool> Until<'a, F> {
    pub(crate) fn new(control: &'a Control, condition: F) -> Self {
        Until {
            control,
            condition,
            waiting: None,
        }
    }
}

impl<F: FnMut(&Stats) -> bool + Unpin> Future for Until<'_, F> {
    type Output = Option<Stats>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let control = this.control;
        let condition = &mut this.condition;
        let waiting = this
            .waiting
            .get_or_insert_with(|| control.progress.waiting());
        let mut check = || {
            let stats = control.stats();
            condition(&stats).then_some(stats)
        };
        match waiting.check(&mut check) {
            Look::Holds(stats) => Poll::Ready(Some(stats)),
            Look::Never => Poll::Ready(None),
            Look::NotYet { generation } => {
                waiting.wake_after(generation, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl<F> fmt::Debug for Until<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Until")
            .field("polled", &self.waiting.is_some())
            .finish_non_exhaustive()
    }
}
