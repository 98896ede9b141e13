//! The language-neutral model of what a client sees of a module: named types, tables,
//! views, reducers and procedures, with every type resolved to a [`TypeUse`]. Names are the
//! module's own; each language cases them.

use crate::{CodegenError, Options};
use spacetime_sats::def::model::{ColumnDef, IndexAlgorithm, ModuleDef, ProcedureDef, TableDef, ViewDef};
use spacetime_sats::def::raw::{FunctionVisibility, TableAccess};
use spacetime_sats::{AlgebraicType, ProductType};

/// How a value's type is written where it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeUse {
    /// `bool`.
    Bool,
    /// A fixed-width integer or float, by its SATS name (`U8`, `I256`, `F64`, …).
    Primitive(Primitive),
    /// A UTF-8 string.
    String,
    /// An array.
    Array(Box<TypeUse>),
    /// An optional value.
    Option(Box<TypeUse>),
    /// A result.
    Result(Box<TypeUse>, Box<TypeUse>),
    /// The empty product.
    Unit,
    /// [`Identity`](spacetime_sats::Identity).
    Identity,
    /// [`ConnectionId`](spacetime_sats::ConnectionId).
    ConnectionId,
    /// [`Timestamp`](spacetime_sats::Timestamp).
    Timestamp,
    /// [`TimeDuration`](spacetime_sats::TimeDuration).
    TimeDuration,
    /// [`Uuid`](spacetime_sats::Uuid).
    Uuid,
    /// [`ScheduleAt`](spacetime_sats::ScheduleAt).
    ScheduleAt,
    /// A named type: an index into [`Module::types`].
    Named(usize),
}

/// The numeric primitives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Primitive {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    I128,
    U128,
    I256,
    U256,
    F32,
    F64,
}

impl TypeUse {
    /// Whether a value of this type may contain a float (so it has no total equality),
    /// given the module's named `types`.
    pub fn contains_float(&self, types: &[TypeModel]) -> bool {
        match self {
            Self::Primitive(Primitive::F32 | Primitive::F64) => true,
            Self::Array(t) | Self::Option(t) => t.contains_float(types),
            Self::Result(a, b) => a.contains_float(types) || b.contains_float(types),
            Self::Named(i) => types[*i].contains_float,
            _ => false,
        }
    }
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeModel {
    /// The enclosing scopes, outermost first.
    pub scope: Vec<String>,
    /// The type's name.
    pub name: String,
    /// Its shape.
    pub kind: TypeKind,
    /// Whether any value of it may contain a float.
    pub contains_float: bool,
}

impl TypeModel {
    /// The name as module source writes it, scopes first: `game::Player`.
    pub fn source_name(&self) -> String {
        self.joined("::")
    }

    /// The scopes and name joined by `sep`.
    pub fn joined(&self, sep: &str) -> String {
        self.scope
            .iter()
            .chain([&self.name])
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(sep)
    }
}

/// The shape of a named type.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeKind {
    /// A struct: named fields in wire order.
    Product(Vec<(String, TypeUse)>),
    /// An enum: variants in tag order; `None` for a variant without payload.
    Sum(Vec<(String, Option<TypeUse>)>),
}

/// A table a client may subscribe to.
#[derive(Debug, Clone, PartialEq)]
pub struct TableModel {
    /// The wire name (SQL, `TableUpdate.table_name`).
    pub wire_name: String,
    /// The name in module source (the accessor).
    pub accessor_name: String,
    /// The row type, an index into [`Module::types`].
    pub row_type: usize,
    /// The columns in row order.
    pub columns: Vec<ColumnModel>,
    /// The primary key column's index.
    pub primary_key: Option<usize>,
    /// The indexes of the columns that are unique on their own, in column order.
    pub unique_columns: Vec<usize>,
    /// The table's indexes, in definition order.
    pub indexes: Vec<IndexModel>,
    /// Whether rows are events that are never stored.
    pub is_event: bool,
}

/// How an index is organised, which decides the lookups a client may make through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Ordered: point lookups on a prefix of the columns, and a range on the column after it.
    BTree,
    /// Hashed: point lookups on all the columns.
    Hash,
    /// Array-indexed on one small unsigned column: point lookups.
    Direct,
}

/// An index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexModel {
    /// The name the module gave the index; for an index without one, the accessor names of
    /// its columns joined by `_`.
    pub accessor_name: String,
    /// How it is organised.
    pub kind: IndexKind,
    /// The key columns (indexes into [`TableModel::columns`]), in key order.
    pub columns: Vec<usize>,
    /// Whether a unique constraint covers exactly these columns, so a key finds one row.
    pub unique: bool,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnModel {
    /// The field name in the row type.
    pub field_name: String,
    /// The column's accessor name in module source.
    pub accessor_name: String,
    /// The column's type.
    pub ty: TypeUse,
}

/// A reducer a client may call.
#[derive(Debug, Clone, PartialEq)]
pub struct ReducerModel {
    /// The wire name (`CallReducer.reducer`).
    pub wire_name: String,
    /// The name in module source.
    pub accessor_name: String,
    /// The parameters, in order.
    pub params: Vec<(String, TypeUse)>,
}

/// A procedure a client may call: it runs outside a transaction and returns a value.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureModel {
    /// The wire name (`CallProcedure.procedure`).
    pub wire_name: String,
    /// The name in module source.
    pub accessor_name: String,
    /// The parameters, in order.
    pub params: Vec<(String, TypeUse)>,
    /// What it returns (the BSATN in `ProcedureResult` is a value of this type).
    pub return_type: TypeUse,
}

/// A view a client may subscribe to: a read-only table whose rows a module function
/// computes, either once for everyone or per caller.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewModel {
    /// The wire name (SQL, `TableUpdate.table_name`).
    pub wire_name: String,
    /// The name in module source (the function's name).
    pub accessor_name: String,
    /// The row type, an index into [`Module::types`].
    pub row_type: usize,
    /// The columns in row order.
    pub columns: Vec<ColumnModel>,
    /// The primary key column's index, when the module declared one (its rows then
    /// pair into updates).
    pub primary_key: Option<usize>,
    /// Whether every caller sees the same rows (`AnonymousViewContext`); otherwise the
    /// rows depend on who asks (`ViewContext`).
    pub is_anonymous: bool,
    /// Whether the function returns at most one row (`Option<T>`) rather than `Vec<T>`.
    pub returns_one: bool,
}

impl ViewModel {
    /// The view as a table a client reads: the same rows, columns and primary key, its
    /// primary key (if any) its only unique column, no other index, never an event table.
    /// Languages generate a view's handle from this, minus anything that writes.
    pub fn as_table(&self) -> TableModel {
        TableModel {
            wire_name: self.wire_name.clone(),
            accessor_name: self.accessor_name.clone(),
            row_type: self.row_type,
            columns: self.columns.clone(),
            primary_key: self.primary_key,
            unique_columns: self.primary_key.into_iter().collect(),
            indexes: Vec::new(),
            is_event: false,
        }
    }
}

/// Everything a client sees of a module.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    /// Every named type, in definition order.
    pub types: Vec<TypeModel>,
    /// The tables to generate, in definition order.
    pub tables: Vec<TableModel>,
    /// The views to generate, in definition order.
    pub views: Vec<ViewModel>,
    /// The reducers to generate, in definition order.
    pub reducers: Vec<ReducerModel>,
    /// The procedures to generate, in definition order.
    pub procedures: Vec<ProcedureModel>,
}

struct Resolver<'a> {
    def: &'a ModuleDef,
    /// The named-type index of each typespace slot that has a name.
    names: Vec<Option<usize>>,
}

impl Resolver<'_> {
    fn resolve(&self, ty: &AlgebraicType, location: &dyn Fn() -> String) -> Result<TypeUse, CodegenError> {
        use AlgebraicType as T;
        Ok(match ty {
            T::Ref(r) => {
                if let Some(Some(i)) = self.names.get(r.0 as usize) {
                    return Ok(TypeUse::Named(*i));
                }
                let target = self.def.typespace.get(*r).ok_or_else(|| CodegenError::DanglingRef {
                    location: location(),
                    type_ref: r.0,
                })?;
                // An unnamed slot is usable only if it is structural (a special type…).
                return self.resolve(target, location);
            }
            T::Bool => TypeUse::Bool,
            T::String => TypeUse::String,
            T::I8 => TypeUse::Primitive(Primitive::I8),
            T::U8 => TypeUse::Primitive(Primitive::U8),
            T::I16 => TypeUse::Primitive(Primitive::I16),
            T::U16 => TypeUse::Primitive(Primitive::U16),
            T::I32 => TypeUse::Primitive(Primitive::I32),
            T::U32 => TypeUse::Primitive(Primitive::U32),
            T::I64 => TypeUse::Primitive(Primitive::I64),
            T::U64 => TypeUse::Primitive(Primitive::U64),
            T::I128 => TypeUse::Primitive(Primitive::I128),
            T::U128 => TypeUse::Primitive(Primitive::U128),
            T::I256 => TypeUse::Primitive(Primitive::I256),
            T::U256 => TypeUse::Primitive(Primitive::U256),
            T::F32 => TypeUse::Primitive(Primitive::F32),
            T::F64 => TypeUse::Primitive(Primitive::F64),
            T::Array(a) => TypeUse::Array(Box::new(self.resolve(&a.elem_ty, location)?)),
            T::Product(p) if p.is_empty() => TypeUse::Unit,
            T::Product(p) if p.is_identity() => TypeUse::Identity,
            T::Product(p) if p.is_connection_id() => TypeUse::ConnectionId,
            T::Product(p) if p.is_timestamp() => TypeUse::Timestamp,
            T::Product(p) if p.is_time_duration() => TypeUse::TimeDuration,
            T::Product(p) if p.is_uuid() => TypeUse::Uuid,
            T::Product(_) => {
                return Err(CodegenError::AnonymousType {
                    location: location(),
                    kind: "struct",
                })
            }
            T::Sum(s) if s.is_schedule_at() => TypeUse::ScheduleAt,
            T::Sum(s) => {
                if let Some(some) = s.as_option() {
                    TypeUse::Option(Box::new(self.resolve(some, location)?))
                } else if let Some((ok, err)) = s.as_result() {
                    TypeUse::Result(
                        Box::new(self.resolve(ok, location)?),
                        Box::new(self.resolve(err, location)?),
                    )
                } else if s.variants.is_empty() {
                    return Err(CodegenError::Unsupported {
                        location: location(),
                        what: "the empty enum (a type with no values)".into(),
                        lang: "client",
                    });
                } else {
                    return Err(CodegenError::AnonymousType {
                        location: location(),
                        kind: "enum",
                    });
                }
            }
        })
    }

    fn product_fields(&self, p: &ProductType, owner: &str) -> Result<Vec<(String, TypeUse)>, CodegenError> {
        p.elements
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let name = e.name().map_or_else(|| format!("field_{i}"), str::to_owned);
                let ty = self.resolve(&e.algebraic_type, &|| format!("field `{name}` of `{owner}`"))?;
                Ok((name, ty))
            })
            .collect()
    }
}

fn table_visible(table: &TableDef, options: &Options) -> bool {
    options.include_private || table.access == TableAccess::Public
}

impl Module {
    /// Reads the parts of `def` a client sees.
    ///
    /// # Errors
    /// A [`CodegenError`] for a type that clients cannot name.
    pub fn new(def: &ModuleDef, options: &Options) -> Result<Self, CodegenError> {
        let mut names = vec![None; def.typespace.types.len()];
        for (i, t) in def.types.iter().enumerate() {
            if let Some(slot) = names.get_mut(t.ty.0 as usize) {
                *slot = Some(i);
            }
        }
        let resolver = Resolver { def, names };
        let mut types = Vec::new();
        for t in &def.types {
            let display = t.scope.iter().chain([&t.name]).cloned().collect::<Vec<_>>().join("::");
            let ty = def.typespace.get(t.ty).ok_or_else(|| CodegenError::DanglingRef {
                location: format!("type `{display}`"),
                type_ref: t.ty.0,
            })?;
            let kind = match ty {
                AlgebraicType::Product(p) => TypeKind::Product(resolver.product_fields(p, &display)?),
                AlgebraicType::Sum(s) => TypeKind::Sum(
                    s.variants
                        .iter()
                        .enumerate()
                        .map(|(i, v)| {
                            let name = v.name().map_or_else(|| format!("Variant{i}"), str::to_owned);
                            let payload = if v.is_unit() {
                                None
                            } else {
                                Some(
                                    resolver
                                        .resolve(&v.algebraic_type, &|| format!("variant `{name}` of `{display}`"))?,
                                )
                            };
                            Ok((name, payload))
                        })
                        .collect::<Result<_, CodegenError>>()?,
                ),
                other => {
                    return Err(CodegenError::Unsupported {
                        location: format!("type `{display}`"),
                        what: format!("an alias of {other:?}"),
                        lang: "client",
                    })
                }
            };
            types.push(TypeModel {
                scope: t.scope.clone(),
                name: t.name.clone(),
                kind,
                contains_float: false,
            });
        }
        mark_floats(&mut types);

        let mut tables = Vec::new();
        for table in def.tables.iter().filter(|t| table_visible(t, options)) {
            let row_type = resolver
                .names
                .get(table.product_type_ref.0 as usize)
                .copied()
                .flatten()
                .ok_or_else(|| CodegenError::AnonymousType {
                    location: format!("the row type of table `{}`", table.name),
                    kind: "struct",
                })?;
            let columns = column_models(
                &resolver,
                &table.row_type,
                &table.columns,
                &format!("table `{}`", table.name),
            )?;
            let mut unique_columns: Vec<usize> = table
                .unique_constraints
                .iter()
                .filter_map(|u| match u.columns[..] {
                    [c] => Some(c.idx()),
                    _ => None,
                })
                .collect();
            unique_columns.sort_unstable();
            unique_columns.dedup();
            let indexes = table_indexes(table, &columns);
            tables.push(TableModel {
                wire_name: table.name.clone(),
                accessor_name: table.accessor_name.clone(),
                row_type,
                columns,
                primary_key: table.primary_key.map(|c| c.idx()),
                unique_columns,
                indexes,
                is_event: table.is_event,
            });
        }

        let mut reducers = Vec::new();
        for r in &def.reducers {
            let callable =
                r.lifecycle.is_none() && (options.include_private || r.visibility != FunctionVisibility::Private);
            if !callable {
                continue;
            }
            let params = resolver.product_fields(&r.params, &format!("reducer {}", r.source_name))?;
            reducers.push(ReducerModel {
                wire_name: r.name.clone(),
                accessor_name: r.source_name.clone(),
                params,
            });
        }
        let procedures = def
            .procedures
            .iter()
            .filter(|p| options.include_private || p.visibility != FunctionVisibility::Private)
            .map(|p| procedure_model(&resolver, p))
            .collect::<Result<_, _>>()?;
        let views = def
            .views
            .iter()
            .filter(|v| options.include_private || v.is_public)
            .map(|v| view_model(&resolver, v))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            types,
            tables,
            views,
            reducers,
            procedures,
        })
    }

    /// The named type a view's rows have.
    pub fn view_row_type(&self, view: &ViewModel) -> &TypeModel {
        &self.types[view.row_type]
    }

    /// The named type a table's rows have.
    pub fn row_type(&self, table: &TableModel) -> &TypeModel {
        &self.types[table.row_type]
    }
}

fn procedure_model(resolver: &Resolver<'_>, p: &ProcedureDef) -> Result<ProcedureModel, CodegenError> {
    let params = resolver.product_fields(&p.params, &format!("procedure {}", p.source_name))?;
    let return_type = resolver.resolve(&p.return_type, &|| {
        format!("the return type of procedure {}", p.source_name)
    })?;
    Ok(ProcedureModel {
        wire_name: p.name.clone(),
        accessor_name: p.source_name.clone(),
        params,
        return_type,
    })
}

fn view_model(resolver: &Resolver<'_>, v: &ViewDef) -> Result<ViewModel, CodegenError> {
    let row_type = resolver
        .names
        .get(v.product_type_ref.0 as usize)
        .copied()
        .flatten()
        .ok_or_else(|| CodegenError::AnonymousType {
            location: format!("the rows of view `{}`", v.name),
            kind: "struct",
        })?;
    Ok(ViewModel {
        wire_name: v.name.clone(),
        accessor_name: v.source_name.clone(),
        row_type,
        columns: column_models(resolver, &v.row_type, &v.columns, &format!("view `{}`", v.name))?,
        primary_key: v.primary_key.map(|c| c.idx()),
        is_anonymous: v.is_anonymous,
        returns_one: v.returns_option,
    })
}

/// The columns of a table or view (`owner`, for errors) whose rows are `row_type`.
fn column_models(
    resolver: &Resolver<'_>,
    row_type: &ProductType,
    columns: &[ColumnDef],
    owner: &str,
) -> Result<Vec<ColumnModel>, CodegenError> {
    columns
        .iter()
        .map(|c| {
            let field_name = row_type
                .elements
                .get(c.col_id.idx())
                .and_then(|e| e.name())
                .unwrap_or(&c.name);
            let ty = resolver.resolve(&c.ty, &|| format!("column `{}` of {owner}", c.name))?;
            Ok(ColumnModel {
                field_name: field_name.to_owned(),
                accessor_name: c.accessor_name.clone(),
                ty,
            })
        })
        .collect()
}

/// The indexes of `table`, in definition order, with their uniqueness from its constraints.
fn table_indexes(table: &TableDef, columns: &[ColumnModel]) -> Vec<IndexModel> {
    let sorted = |cols: &mut Vec<usize>| {
        cols.sort_unstable();
        cols.dedup();
    };
    let unique_sets: Vec<Vec<usize>> = table
        .unique_constraints
        .iter()
        .map(|u| {
            let mut cols: Vec<usize> = u.columns.iter().map(|c| c.idx()).collect();
            sorted(&mut cols);
            cols
        })
        .collect();
    table
        .indexes
        .iter()
        .filter_map(|index| {
            let kind = match index.algorithm {
                IndexAlgorithm::BTree { .. } => IndexKind::BTree,
                IndexAlgorithm::Hash { .. } => IndexKind::Hash,
                IndexAlgorithm::Direct { .. } => IndexKind::Direct,
            };
            let cols: Vec<usize> = index.algorithm.columns().iter().map(|c| c.idx()).collect();
            // A validated definition only names existing columns; an index that does not
            // is left out rather than generating a lookup on nothing.
            if cols.is_empty() || cols.iter().any(|&c| c >= columns.len()) {
                return None;
            }
            let accessor_name = index.accessor_name.clone().unwrap_or_else(|| {
                cols.iter()
                    .map(|&c| columns[c].accessor_name.as_str())
                    .collect::<Vec<_>>()
                    .join("_")
            });
            let mut key = cols.clone();
            sorted(&mut key);
            let unique = unique_sets.contains(&key);
            Some(IndexModel {
                accessor_name,
                kind,
                columns: cols,
                unique,
            })
        })
        .collect()
}

/// Computes `contains_float` for every type, following named types to a fixed point (types
/// may refer to each other in any order).
fn mark_floats(types: &mut [TypeModel]) {
    let direct = |ty: &TypeUse, types: &[TypeModel]| ty.contains_float(types);
    loop {
        let mut changed = false;
        for i in 0..types.len() {
            if types[i].contains_float {
                continue;
            }
            let has = match &types[i].kind {
                TypeKind::Product(fields) => fields.iter().any(|(_, t)| direct(t, types)),
                TypeKind::Sum(variants) => variants
                    .iter()
                    .any(|(_, t)| t.as_ref().is_some_and(|t| direct(t, types))),
            };
            if has {
                types[i].contains_float = true;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}
