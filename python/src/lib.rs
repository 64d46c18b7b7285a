//! The Python module of Brain: arrives with the Python issue.
