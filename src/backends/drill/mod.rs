//! The simulated estate used by `warroom drill`: same traits as the real backends.
