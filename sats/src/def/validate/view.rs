//! Validation of views: a view is named like a table (it shares the global namespace
//! with tables, since clients read it as one) and like a function (it shares the
//! function namespace with reducers and procedures). It returns `Vec<T>`, `Option<T>` or
//! a query of `T` (`impl Query<T>`) for a named product type `T`, may take parameters
//! (clients then call it as `SELECT * FROM view(args)`), and may declare one primary-key
//! column by name (`RawViewPrimaryKeyDefV10`).

use super::error::ValidationError;
use super::Validator;
use crate::def::model::ViewDef;
use crate::def::raw::{RawViewDefV10, RawViewPrimaryKeyDefV10};
use crate::{AlgebraicType, AlgebraicTypeRef, ColId};

/// What a view returns, by its return type.
#[derive(Clone, Copy)]
struct Returns {
    /// `Option<T>` rather than `Vec<T>`.
    option: bool,
    /// A query of `T` (`RawQuery<T>`: the product `{ __query__: T }`).
    query: bool,
    /// `T`.
    row: AlgebraicTypeRef,
}

/// The name of the one element of the product a query-builder view's return type is.
const QUERY_RETURN_TAG: &str = "__query__";

/// `Vec<&T>`, `Option<&T>` or `{ __query__: &T }`; anything else `None`.
fn returns(ty: &AlgebraicType) -> Option<Returns> {
    let of = |option, query, elem: &AlgebraicType| match elem {
        AlgebraicType::Ref(row) => Some(Returns {
            option,
            query,
            row: *row,
        }),
        _ => None,
    };
    match ty {
        AlgebraicType::Array(a) => of(false, false, &a.elem_ty),
        AlgebraicType::Product(p) => match &*p.elements {
            [only] if only.name.as_deref() == Some(QUERY_RETURN_TAG) => of(false, true, &only.algebraic_type),
            _ => None,
        },
        other => of(true, false, other.as_option()?),
    }
}

impl Validator<'_> {
    /// Validates every view, then attaches each primary key to its view.
    pub(super) fn validate_views(
        &mut self,
        views: Vec<RawViewDefV10>,
        primary_keys: Vec<RawViewPrimaryKeyDefV10>,
    ) -> Vec<ViewDef> {
        let mut out: Vec<ViewDef> = views.into_iter().filter_map(|v| self.validate_view(v)).collect();
        for pk in primary_keys {
            self.attach_view_primary_key(&mut out, pk);
        }
        let mut seen = std::collections::HashSet::new();
        for v in &out {
            if !seen.insert((v.is_anonymous, v.index)) {
                self.err(ValidationError::InvalidView {
                    view: v.source_name.clone(),
                    problem: format!(
                        "another {} view has the same index {}; each view of a kind needs its own index",
                        if v.is_anonymous { "anonymous" } else { "per-caller" },
                        v.index
                    ),
                });
            }
        }
        out
    }

    fn validate_view(&mut self, v: RawViewDefV10) -> Option<ViewDef> {
        let name = self.namer.function(&v.source_name);
        let errors_before = self.errors.len();
        if self.ident(|| "view".to_owned(), &v.source_name) && name != v.source_name {
            self.ident(|| format!("canonical name of view `{}`", v.source_name), &name);
        }
        if name.starts_with("st_") {
            self.err(ValidationError::InvalidView {
                view: v.source_name.clone(),
                problem: "names starting with `st_` are reserved for system tables; rename the view".into(),
            });
        }
        self.check_params("view", &v.source_name, &v.params);
        for param in v.params.elements.iter() {
            for type_ref in super::types::dangling_refs(&param.algebraic_type, self.ts) {
                self.err(ValidationError::DanglingTypeRef {
                    location: format!("view `{}`", v.source_name),
                    type_ref,
                    len: self.ts.types.len(),
                });
            }
        }
        let Some(Returns {
            option,
            query,
            row: row_ref,
        }) = returns(&v.return_type)
        else {
            self.err(ValidationError::InvalidView {
                view: v.source_name,
                problem: format!(
                    "it returns `{}`, but a view must return `Vec<T>`, `Option<T>` or `impl Query<T>` of a struct `T`",
                    super::describe_type(&v.return_type)
                ),
            });
            return None;
        };
        let Some(row) = self.ts.get(row_ref).and_then(AlgebraicType::as_product) else {
            self.err(ValidationError::InvalidView {
                view: v.source_name,
                problem: format!(
                    "its row type &{} is not a struct; a view's rows must be a struct",
                    row_ref.0
                ),
            });
            return None;
        };
        let source_row = self
            .source_ts
            .get(row_ref)
            .and_then(AlgebraicType::as_product)
            .unwrap_or(row);
        let columns = self.row_columns(&name, row, source_row);
        self.add_global(&v.source_name);
        if name != v.source_name {
            self.add_global(&name);
        }
        (self.errors.len() == errors_before).then(|| ViewDef {
            name,
            source_name: v.source_name,
            index: v.index,
            is_public: v.is_public,
            is_anonymous: v.is_anonymous,
            returns_option: option,
            returns_query: query,
            params: v.params,
            product_type_ref: row_ref,
            row_type: row.clone(),
            columns,
            primary_key: None,
        })
    }

    fn attach_view_primary_key(&mut self, views: &mut [ViewDef], pk: RawViewPrimaryKeyDefV10) {
        let Some(view) = views
            .iter_mut()
            .find(|v| v.source_name == pk.view_source_name || v.name == pk.view_source_name)
        else {
            self.err(ValidationError::InvalidView {
                view: pk.view_source_name,
                problem: "a primary key is declared for it, but the module has no view of that name".into(),
            });
            return;
        };
        let column = match pk.columns.as_slice() {
            [one] => one,
            other => {
                self.err(ValidationError::InvalidView {
                    view: view.source_name.clone(),
                    problem: format!(
                        "its primary key lists {} columns, but a view's primary key is exactly one column",
                        other.len()
                    ),
                });
                return;
            }
        };
        let Some(col) = view
            .columns
            .iter()
            .find(|c| c.accessor_name == *column || c.name == *column)
        else {
            let names: Vec<&str> = view.columns.iter().map(|c| c.accessor_name.as_str()).collect();
            self.err(ValidationError::InvalidView {
                view: view.source_name.clone(),
                problem: format!(
                    "its primary key names column `{column}`, which its rows do not have (they have {})",
                    names.join(", ")
                ),
            });
            return;
        };
        if view.primary_key.is_some() {
            self.err(ValidationError::InvalidView {
                view: view.source_name.clone(),
                problem: "its primary key is declared twice; declare it once".into(),
            });
            return;
        }
        view.primary_key = Some(ColId(col.col_id.0));
    }
}

#[cfg(test)]
mod tests {
    use crate::def::model::ModuleDef;
    use crate::def::raw::{RawModuleDefV10, RawModuleDefV10Section, RawViewDefV10, RawViewPrimaryKeyDefV10};
    use crate::{AlgebraicType as T, ColId, ProductType, Typespace};

    /// A module whose only item is the view `v` returning `ret` (built from the row's
    /// ref), with primary keys `pks`.
    fn module(ret: impl Fn(T) -> T, params: ProductType, pks: Vec<Vec<&str>>) -> RawModuleDefV10 {
        let mut ts = Typespace::default();
        let row = ts.add(T::product([("id", T::U64), ("ownerName", T::String)]));
        RawModuleDefV10 {
            sections: vec![
                RawModuleDefV10Section::Typespace(ts),
                RawModuleDefV10Section::Views(vec![RawViewDefV10 {
                    source_name: "myItems".into(),
                    index: 0,
                    is_public: true,
                    is_anonymous: false,
                    params,
                    return_type: ret(T::Ref(row)),
                }]),
                RawModuleDefV10Section::ViewPrimaryKeys(
                    pks.into_iter()
                        .map(|cols| RawViewPrimaryKeyDefV10 {
                            view_source_name: "myItems".into(),
                            columns: cols.into_iter().map(str::to_owned).collect(),
                        })
                        .collect(),
                ),
            ],
        }
    }

    fn error(def: RawModuleDefV10) -> String {
        let errors = ModuleDef::try_from(def).expect_err("must be refused");
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_view_is_kept_with_its_columns_and_key() {
        let def = ModuleDef::try_from(module(T::array, ProductType::unit(), vec![vec!["ownerName"]])).expect("valid");
        let view = def.view("my_items").expect("found by canonical name");
        assert_eq!(def.view("myItems").map(|v| v.index), Some(0), "and by source name");
        assert!(!view.returns_option && !view.is_anonymous && view.is_public);
        let names: Vec<&str> = view.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "owner_name"]);
        assert_eq!(view.primary_key, Some(ColId(1)));
        let def = ModuleDef::try_from(module(T::option, ProductType::unit(), vec![])).expect("valid");
        assert!(def.views[0].returns_option);
        let query = |row| T::product([("__query__", row)]);
        let params = ProductType::named([("owner", T::identity()), ("min", T::U64)]);
        let def = ModuleDef::try_from(module(query, params.clone(), vec![])).expect("a query view with parameters");
        assert!(def.views[0].returns_query && !def.views[0].returns_option);
        assert_eq!(def.views[0].params, params);
    }

    #[test]
    fn bad_views_are_refused_with_the_reason() {
        let e = error(module(|_| T::U32, ProductType::unit(), vec![]));
        assert!(
            e.contains("view `myItems`: it returns `U32`") && e.contains("`Vec<T>`, `Option<T>` or `impl Query<T>`"),
            "{e}"
        );
        let e = error(module(
            T::array,
            ProductType::new(vec![crate::ProductTypeElement::unnamed(T::U8)]),
            vec![],
        ));
        assert!(e.contains("view `myItems`"), "an unnamed parameter: {e}");
        let e = error(module(T::array, ProductType::unit(), vec![vec!["nope"]]));
        assert!(e.contains("primary key names column `nope`"), "{e}");
        let e = error(module(T::array, ProductType::unit(), vec![vec!["id", "ownerName"]]));
        assert!(e.contains("exactly one column"), "{e}");
    }
}
