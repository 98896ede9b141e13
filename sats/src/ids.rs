//! Newtype ids for the objects of a database schema.

macro_rules! id {
    ($(#[$doc:meta] $name:ident($inner:ty);)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub $inner);

        impl $name {
            /// The id as a `usize`, for indexing.
            pub fn idx(self) -> usize {
                self.0 as usize
            }
        }

        impl From<$inner> for $name {
            fn from(x: $inner) -> Self {
                Self(x)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id! {
    /// Identifies a table in a database.
    TableId(u32);
    /// Identifies an index in a database.
    IndexId(u32);
    /// Identifies a sequence in a database.
    SequenceId(u32);
    /// The position of a column in its table's row type.
    ColId(u16);
    /// The position of a reducer in the module definition's `Reducers` section.
    ReducerId(u32);
}
