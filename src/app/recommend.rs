//! Which runbooks address the current faults.
