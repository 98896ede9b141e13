//! The spacetime command-line tool.
