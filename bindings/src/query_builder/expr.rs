//! Conditions of a query: comparisons of a column with another column or a literal,
//! combined with `AND`, `OR` and `NOT`, and the SQL literals of each column type (in the
//! forms the host's SQL reads: hex for identities and bytes, quoted text for timestamps
//! and UUIDs).

use super::{Col, ColumnRef};
use spacetime_sats::{i256, u256, ConnectionId, Identity, Timestamp, Uuid};

/// One side of a comparison.
pub enum Operand<T> {
    /// A column of table `T`.
    Column(ColumnRef<T>),
    /// A literal, as SQL.
    Literal(LiteralValue),
}

/// A condition over the columns of table `T`.
pub enum BoolExpr<T> {
    /// `a = b`
    Eq(Operand<T>, Operand<T>),
    /// `a <> b`
    Ne(Operand<T>, Operand<T>),
    /// `a > b`
    Gt(Operand<T>, Operand<T>),
    /// `a < b`
    Lt(Operand<T>, Operand<T>),
    /// `a >= b`
    Gte(Operand<T>, Operand<T>),
    /// `a <= b`
    Lte(Operand<T>, Operand<T>),
    /// Both.
    And(Box<BoolExpr<T>>, Box<BoolExpr<T>>),
    /// Either.
    Or(Box<BoolExpr<T>>, Box<BoolExpr<T>>),
    /// Not this.
    Not(Box<BoolExpr<T>>),
}

impl<T> BoolExpr<T> {
    /// `self AND other`.
    pub fn and(self, other: BoolExpr<T>) -> BoolExpr<T> {
        BoolExpr::And(Box::new(self), Box::new(other))
    }

    /// `self OR other`.
    pub fn or(self, other: BoolExpr<T>) -> BoolExpr<T> {
        BoolExpr::Or(Box::new(self), Box::new(other))
    }

    /// `NOT self`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> BoolExpr<T> {
        BoolExpr::Not(Box::new(self))
    }
}

/// A `bool` column alone is the condition that it is true.
impl<T> From<Col<T, bool>> for BoolExpr<T> {
    fn from(col: Col<T, bool>) -> Self {
        col.eq(true)
    }
}

/// A constant condition: `TRUE = TRUE` or `FALSE = TRUE`.
impl<T> From<bool> for BoolExpr<T> {
    fn from(value: bool) -> Self {
        let literal = |b: bool| Operand::Literal(b.to_sql_literal());
        BoolExpr::Eq(literal(value), literal(true))
    }
}

/// What may be compared with a column of table `T` whose values are `V`s: another such
/// column, or a literal `V`.
pub trait RHS<T, V> {
    /// The comparison's right-hand side.
    fn to_expr(self) -> Operand<T>;
}

impl<T, V> RHS<T, V> for Col<T, V> {
    fn to_expr(self) -> Operand<T> {
        Operand::Column(self.col)
    }
}

fn operand_sql<T>(operand: &Operand<T>) -> String {
    match operand {
        Operand::Column(col) => col.sql(),
        Operand::Literal(lit) => lit.0.clone(),
    }
}

/// The SQL of a condition, parenthesised at every level.
pub fn format_expr<T>(expr: &BoolExpr<T>) -> String {
    let cmp = |a: &Operand<T>, op: &str, b: &Operand<T>| format!("({} {op} {})", operand_sql(a), operand_sql(b));
    match expr {
        BoolExpr::Eq(a, b) => cmp(a, "=", b),
        BoolExpr::Ne(a, b) => cmp(a, "<>", b),
        BoolExpr::Gt(a, b) => cmp(a, ">", b),
        BoolExpr::Lt(a, b) => cmp(a, "<", b),
        BoolExpr::Gte(a, b) => cmp(a, ">=", b),
        BoolExpr::Lte(a, b) => cmp(a, "<=", b),
        BoolExpr::And(a, b) => format!("({} AND {})", format_expr(a), format_expr(b)),
        BoolExpr::Or(a, b) => format!("({} OR {})", format_expr(a), format_expr(b)),
        BoolExpr::Not(a) => format!("(NOT {})", format_expr(a)),
    }
}

/// A literal, as SQL text.
#[derive(Clone, Debug)]
pub struct LiteralValue(pub(crate) String);

impl LiteralValue {
    /// The literal whose SQL is `sql`.
    pub fn new(sql: String) -> Self {
        Self(sql)
    }
}

/// A value that can be written as a SQL literal: in a comparison, or as a view call's
/// argument.
pub trait SqlLiteral {
    /// The literal.
    fn to_sql_literal(self) -> LiteralValue;
}

/// `'text'`, with quotes doubled.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Implements [`SqlLiteral`] and [`RHS`] for each type, with the function writing it.
macro_rules! literals {
    ($($ty:ty => $write:expr;)*) => {$(
        impl SqlLiteral for $ty {
            fn to_sql_literal(self) -> LiteralValue {
                let write: fn($ty) -> String = $write;
                LiteralValue(write(self))
            }
        }

        impl<T> RHS<T, $ty> for $ty {
            fn to_expr(self) -> Operand<T> {
                Operand::Literal(self.to_sql_literal())
            }
        }
    )*};
}

literals! {
    String => |s| quoted(&s);
    &str => quoted;
    i8 => |n| n.to_string();
    i16 => |n| n.to_string();
    i32 => |n| n.to_string();
    i64 => |n| n.to_string();
    i128 => |n| n.to_string();
    i256 => |n| n.to_string();
    u8 => |n| n.to_string();
    u16 => |n| n.to_string();
    u32 => |n| n.to_string();
    u64 => |n| n.to_string();
    u128 => |n| n.to_string();
    u256 => |n| n.to_string();
    usize => |n| n.to_string();
    f32 => |f| f64::from(f).to_string();
    f64 => |f| f.to_string();
    bool => |b| if b { "TRUE".to_owned() } else { "FALSE".to_owned() };
    Identity => |id| format!("0x{}", id.to_hex());
    ConnectionId => |id| format!("0x{}", id.to_hex());
    Timestamp => |ts| quoted(&ts.to_string());
    Uuid => |uuid| quoted(&uuid.to_string());
    Vec<u8> => |bytes| {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{hex}")
    };
}
