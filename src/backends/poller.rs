//! Poller: interval + timeout + circuit breaker, one request in flight per source.
