//! Row-level security: the [`Filter`] a `#[client_visibility_filter]` const holds. The
//! registration itself is in [`crate::rt::register_row_level_security`].

/// A row-level security filter, registered with
/// [`#[client_visibility_filter]`](macro@crate::client_visibility_filter).
///
/// `Filter::Sql` is a query of the form `SELECT * FROM t [WHERE …]` or
/// `SELECT t.* FROM t JOIN u ON … [WHERE …]`: the rows of `t` it returns are the ones a
/// client may see. `:sender` in it is the identity of the client reading. A public table
/// with filters shows a client (other than the database owner) the rows that match any
/// of them, in SQL queries, one-off queries and subscriptions alike.
///
/// The SQL is checked when the module is published: a filter that does not parse, names
/// an unknown column or table, or returns the rows of a private table refuses the
/// publish with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Filter {
    /// A filter written as a SQL query.
    Sql(&'static str),
}

impl Filter {
    /// The filter's SQL text.
    pub const fn sql_text(&self) -> &'static str {
        match self {
            Self::Sql(sql) => sql,
        }
    }
}
