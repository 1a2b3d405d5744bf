//! [`JoinError`]: why a task produced no output.

#![allow(unsafe_code)]

use std::any::Any;
use std::fmt;
use std::io;

use super::core::panic_message;
use super::Id;

/// The task did not complete: it was cancelled (aborted, or the runtime shut down before it
/// finished), or it panicked. A panic is caught, never propagated into the runtime; its
/// payload travels here and can be resumed with [`std::panic::resume_unwind`].
///
/// # Examples
///
/// ```
/// let rt = umcg::runtime::Runtime::new().unwrap();
/// let err = rt.block_on(async { umcg::spawn(async { panic!("boom") }).await.unwrap_err() });
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    id: Id,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Payload),
}

/// A panic payload. `Box<dyn Any + Send>` is not `Sync`; the payload is reachable only by value
/// (`into_panic`) or through `&mut` (`try_into_panic`), never through `&self`.
struct Payload(Box<dyn Any + Send + 'static>);

// SAFETY: no method hands out `&` access to the payload through `&JoinError`; the one shared
// accessor (`Display`/`Debug`) only reads it as `&str` after downcasting, which for the
// `&'static str` and `String` payloads it accepts is a read of Sync data.
unsafe impl Sync for Payload {}

impl JoinError {
    pub(crate) fn cancelled(id: Id) -> Self {
        Self {
            id,
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(id: Id, payload: Box<dyn Any + Send + 'static>) -> Self {
        Self {
            id,
            repr: Repr::Panic(Payload(payload)),
        }
    }

    /// Whether the task was cancelled (by `abort` or by the runtime's shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let h = umcg::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     assert!(h.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let r = rt.block_on(rt.spawn_blocking(|| panic!("in a closure")));
    /// assert!(r.unwrap_err().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload.
    ///
    /// # Panics
    ///
    /// If the task was cancelled; use [`JoinError::try_into_panic`] to check.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let err = rt.block_on(rt.spawn(async { std::panic::panic_any(7u32) })).unwrap_err();
    /// assert_eq!(*err.into_panic().downcast::<u32>().unwrap(), 7);
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task's error")
    }

    /// The panic payload, or the error itself when the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// let err = rt.block_on(async {
    ///     let h = umcg::spawn(std::future::pending::<()>());
    ///     h.abort();
    ///     h.await.unwrap_err()
    /// });
    /// assert!(err.try_into_panic().is_err());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(Payload(p)) => Ok(p),
            Repr::Cancelled => Err(self),
        }
    }

    /// The id of the task that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = umcg::runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let h = umcg::spawn(std::future::pending::<()>());
    ///     let id = h.id();
    ///     h.abort();
    ///     assert_eq!(h.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "task {} was cancelled", self.id),
            Repr::Panic(p) => match panic_message(&*p.0) {
                Some(msg) => write!(f, "task {} panicked with message {:?}", self.id, msg),
                None => write!(f, "task {} panicked", self.id),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({:?})", self.id),
            Repr::Panic(p) => match panic_message(&*p.0) {
                Some(msg) => write!(f, "JoinError::Panic({:?}, {:?}, ...)", self.id, msg),
                None => write!(f, "JoinError::Panic({:?}, ...)", self.id),
            },
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for io::Error {
    fn from(e: JoinError) -> Self {
        io::Error::other(e.to_string())
    }
}
