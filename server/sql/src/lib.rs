//! The SQL subset: parsing, checking and executing queries and DML.
