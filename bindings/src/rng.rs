//! [`StdbRng`]: the deterministic random number generator of a reducer or procedure call.
//!
//! It is rand 0.8's `StdRng` seeded with the call's timestamp in microseconds, so a
//! reducer that is replayed at the same timestamp draws the same numbers. Modules have no
//! entropy source (`getrandom` is not linked), which is why `rand::thread_rng` is unavailable.

use crate::{ProcedureContext, ReducerContext};
use core::cell::{Cell, RefCell};
use rand::distributions::{Distribution, Standard};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use spacetime_sats::special::UuidError;
use spacetime_sats::{Timestamp, Uuid};

/// The random number generator of a reducer call; see [`ReducerContext::rng`].
///
/// Use it through `&StdbRng`, which implements [`RngCore`] (and so `rand::Rng`).
pub struct StdbRng {
    rng: RefCell<StdRng>,
}

impl StdbRng {
    pub(crate) fn seed_from_timestamp(timestamp: Timestamp) -> Self {
        Self {
            rng: RefCell::new(StdRng::seed_from_u64(timestamp.to_micros_since_unix_epoch() as u64)),
        }
    }
}

impl RngCore for &StdbRng {
    fn next_u32(&mut self) -> u32 {
        self.rng.borrow_mut().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.borrow_mut().next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.borrow_mut().fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.rng.borrow_mut().try_fill_bytes(dest)
    }
}

impl RngCore for StdbRng {
    fn next_u32(&mut self) -> u32 {
        self.rng.get_mut().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.get_mut().next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.rng.get_mut().fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.rng.get_mut().try_fill_bytes(dest)
    }
}

/// `rng()` and `random()` on a context with a `rng: OnceCell<StdbRng>` field and a
/// `timestamp`, which seeds the generator on first use.
macro_rules! context_rng {
    ($ctx:ident, $($rng_doc:literal)*) => {
        impl $ctx {
            $(#[doc = $rng_doc])*
            pub fn rng(&self) -> &StdbRng {
                self.rng.get_or_init(|| StdbRng::seed_from_timestamp(self.timestamp))
            }

            #[doc = concat!("A random value of type `T` from [`", stringify!($ctx), "::rng`].")]
            pub fn random<T>(&self) -> T
            where
                Standard: Distribution<T>,
            {
                Standard.sample(&mut self.rng())
            }
        }
    };
}

context_rng!(
    ReducerContext,
    "The random number generator of this call, seeded from [`ReducerContext::timestamp`]."
    ""
    "# Examples"
    "```no_run"
    "use spacetimedb::rand::Rng;"
    "# fn demo(ctx: &spacetimedb::ReducerContext) {"
    "let roll: u8 = ctx.rng().gen_range(1..=6);"
    "# }"
    "```"
);

context_rng!(
    ProcedureContext,
    "The random number generator of this procedure, seeded from the time it started."
);

/// A random (version 4) UUID from `rng`.
pub(crate) fn uuid_v4(rng: &StdbRng) -> Uuid {
    let mut bytes = [0u8; 16];
    RngCore::fill_bytes(&mut &*rng, &mut bytes);
    Uuid::from_random_bytes_v4(bytes)
}

/// A time-ordered (version 7) UUID: `timestamp`'s milliseconds, the call's `counter`
/// (which orders the UUIDs of one call) and random bits from `rng`.
pub(crate) fn uuid_v7(rng: &StdbRng, counter: &Cell<u32>, timestamp: Timestamp) -> Result<Uuid, UuidError> {
    let mut random = [0u8; 4];
    RngCore::fill_bytes(&mut &*rng, &mut random);
    Uuid::from_counter_v7(counter, timestamp, &random)
}
