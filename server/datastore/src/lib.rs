//! In-memory tables, indexes, constraints, sequences and transactions.
