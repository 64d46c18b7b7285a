//! The C ABI of Brain: arrives with the C ABI issue.
