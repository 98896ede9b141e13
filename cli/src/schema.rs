//! What the CLI reads from a module's schema (`GET /schema?version=10`) and from SQL
//! results, on top of `spacetime_sats`: SATS-JSON decoding ([`spacetime_sats::json`]) and
//! the validated module model ([`ModuleDef`]), plus Rust-like type names for messages.

use anyhow::{anyhow, Context, Result};
use serde_json::Value;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::RawModuleDefV10;
use spacetime_sats::def::raw_v9::RawModuleDefV9;
use spacetime_sats::json::{from_json, value_from_json};
use spacetime_sats::{AlgebraicType, ProductType, ProductValue, Typespace};

/// A reducer or procedure.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its name, as `call` takes it.
    pub name: String,
    /// Its parameters (after the context).
    pub params: ProductType,
    /// Whether it is a lifecycle reducer (`init`, `client_connected`, `client_disconnected`).
    pub lifecycle: bool,
}

/// The parts of a module definition the CLI uses.
#[derive(Debug, Clone, Default)]
pub struct ModuleSchema {
    /// The typespace `Ref`s point into.
    pub typespace: Vec<AlgebraicType>,
    /// The reducers, in definition order.
    pub reducers: Vec<Function>,
    /// The procedures, in definition order.
    pub procedures: Vec<Function>,
}

impl ModuleSchema {
    /// Reads a V10 schema (`{"sections": […]}`) or a V9 one, and validates it.
    ///
    /// # Errors
    /// When the JSON is not a module definition, or not a valid one.
    pub fn from_json(schema: &Value) -> Result<Self> {
        let def = if schema.get("sections").is_some() {
            let raw: RawModuleDefV10 = from_json(schema).map_err(|e| anyhow!("not a V10 module definition: {e}"))?;
            ModuleDef::try_from(raw)
        } else {
            let raw: RawModuleDefV9 = from_json(schema).map_err(|e| anyhow!("not a V9 module definition: {e}"))?;
            ModuleDef::try_from(raw)
        };
        let def = def.map_err(|e| anyhow!("the module definition is invalid: {e}"))?;
        let reducers = def
            .reducers
            .iter()
            .map(|r| Function {
                name: r.name.clone(),
                params: r.params.clone(),
                lifecycle: r.lifecycle.is_some(),
            })
            .collect();
        let procedures = def
            .procedures
            .iter()
            .map(|p| Function {
                name: p.name.clone(),
                params: p.params.clone(),
                lifecycle: false,
            })
            .collect();
        Ok(Self {
            typespace: def.typespace.types,
            reducers,
            procedures,
        })
    }

    /// The reducer called `name`.
    pub fn reducer(&self, name: &str) -> Option<&Function> {
        self.reducers.iter().find(|r| r.name == name)
    }

    /// The procedure called `name`.
    pub fn procedure(&self, name: &str) -> Option<&Function> {
        self.procedures.iter().find(|p| p.name == name)
    }

    /// Whether `name` is a reducer or procedure.
    pub fn has_function(&self, name: &str) -> bool {
        self.reducer(name).is_some() || self.procedure(name).is_some()
    }

    /// `ty` with `Ref`s followed through the typespace (a dangling `Ref` stays as it is).
    pub fn resolve<'a>(&'a self, mut ty: &'a AlgebraicType) -> &'a AlgebraicType {
        // A bounded walk: a typespace whose refs form a cycle must not hang the CLI.
        for _ in 0..=self.typespace.len() {
            match ty {
                AlgebraicType::Ref(r) => match self.typespace.get(r.0 as usize) {
                    Some(next) => ty = next,
                    None => return ty,
                },
                _ => return ty,
            }
        }
        ty
    }

    /// A Rust-like name for `ty`: `u32`, `String`, `Identity`, `Option<T>`, `Vec<T>`,
    /// `{ a: T }`, `enum { A: T }`.
    pub fn type_name(&self, ty: &AlgebraicType) -> String {
        self.type_name_depth(ty, 0)
    }

    fn type_name_depth(&self, ty: &AlgebraicType, depth: usize) -> String {
        if depth > 32 {
            return "…".to_owned();
        }
        let ty = self.resolve(ty);
        let named = |name: Option<&str>, ty: &AlgebraicType| match name {
            Some(n) => format!("{n}: {}", self.type_name_depth(ty, depth + 1)),
            None => self.type_name_depth(ty, depth + 1),
        };
        let braced = |items: Vec<String>| {
            if items.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", items.join(", "))
            }
        };
        match ty {
            AlgebraicType::Product(p) if p.is_identity() => "Identity".into(),
            AlgebraicType::Product(p) if p.is_connection_id() => "ConnectionId".into(),
            AlgebraicType::Product(p) if p.is_timestamp() => "Timestamp".into(),
            AlgebraicType::Product(p) if p.is_time_duration() => "TimeDuration".into(),
            AlgebraicType::Product(p) if p.is_uuid() => "Uuid".into(),
            AlgebraicType::Sum(s) if s.is_schedule_at() => "ScheduleAt".into(),
            AlgebraicType::Sum(s) => match s.as_option() {
                Some(inner) => format!("Option<{}>", self.type_name_depth(inner, depth + 1)),
                None => format!(
                    "enum {}",
                    braced(s.variants.iter().map(|v| named(v.name(), &v.algebraic_type)).collect())
                ),
            },
            AlgebraicType::Product(p) => {
                braced(p.elements.iter().map(|e| named(e.name(), &e.algebraic_type)).collect())
            }
            AlgebraicType::Array(a) => format!("Vec<{}>", self.type_name_depth(&a.elem_ty, depth + 1)),
            AlgebraicType::Ref(r) => format!("<unknown type #{}>", r.0),
            AlgebraicType::String => "String".into(),
            primitive => format!("{primitive:?}").to_ascii_lowercase(),
        }
    }
}

/// Reads a SATS-JSON `ProductType` (`{"elements": […]}`), as `/sql` sends a result's schema.
///
/// # Errors
/// When the JSON is not a product type.
pub fn product_type_from_json(json: &Value) -> Result<ProductType> {
    from_json(json).map_err(|e| anyhow!("not a product type: {e}"))
}

/// Reads SATS-JSON rows of the row type `row_type` (which holds no `Ref`s).
///
/// # Errors
/// When a row does not fit the type, naming the row and the place in it.
pub fn rows_from_json(row_type: &ProductType, rows: &[Value]) -> Result<Vec<ProductValue>> {
    let ty = AlgebraicType::Product(row_type.clone());
    let typespace = Typespace::default();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let value =
                value_from_json(row, &ty, &typespace).map_err(|e| anyhow!("{}", e.under(&format!("rows[{i}]"))))?;
            value
                .into_product()
                .map_err(|v| anyhow!("row {i} decoded to {v:?}, not a row"))
        })
        .collect::<Result<_>>()
        .context("the rows do not match the result's schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use spacetime_sats::AlgebraicValue;

    #[test]
    fn reads_a_v10_schema() {
        let unit = json!({ "Product": { "elements": [] } });
        let schema = json!({ "sections": [
            { "Typespace": { "types": [ { "Product": { "elements": [
                { "name": { "some": "name" }, "algebraic_type": { "String": [] } } ] } } ] } },
            { "Types": [ { "source_name": { "scope": [], "source_name": "Person" }, "ty": 0, "custom_ordering": true } ] },
            { "Reducers": [
                { "source_name": "add", "params": { "elements": [
                    { "name": { "some": "person" }, "algebraic_type": { "Ref": 0 } },
                    { "name": { "some": "who" }, "algebraic_type": { "Product": { "elements": [
                        { "name": { "some": "__identity__" }, "algebraic_type": { "U256": [] } } ] } } },
                    { "name": { "some": "tags" }, "algebraic_type": { "Array": { "Sum": { "variants": [
                        { "name": { "some": "some" }, "algebraic_type": { "U8": [] } },
                        { "name": { "some": "none" }, "algebraic_type": unit } ] } } } }
                ] }, "visibility": { "ClientCallable": [] }, "ok_return_type": unit, "err_return_type": { "String": [] } },
                { "source_name": "init", "params": { "elements": [] }, "visibility": { "Private": [] },
                  "ok_return_type": unit, "err_return_type": { "String": [] } }
            ] },
            { "LifeCycleReducers": [ { "lifecycle_spec": { "Init": [] }, "function_name": "init" } ] }
        ]});
        let s = ModuleSchema::from_json(&schema).unwrap();
        let add = s.reducer("add").unwrap();
        assert!(!add.lifecycle && s.reducer("init").unwrap().lifecycle);
        let names: Vec<String> = add
            .params
            .elements
            .iter()
            .map(|e| s.type_name(&e.algebraic_type))
            .collect();
        assert_eq!(names, ["{ name: String }", "Identity", "Vec<Option<u8>>"]);
        assert!(ModuleSchema::from_json(&json!({ "sections": "no" })).is_err());
    }

    #[test]
    fn reads_sql_results() {
        let schema = json!({ "elements": [
            { "name": { "some": "id" }, "algebraic_type": { "U128": [] } },
            { "name": { "some": "who" }, "algebraic_type": { "Product": { "elements": [
                { "name": { "some": "__identity__" }, "algebraic_type": { "U256": [] } } ] } } }
        ]});
        let row_type = product_type_from_json(&schema).unwrap();
        let rows = [json!([340282366920938463463374607431768211455u128, { "__identity__": "0x01" }])];
        let rows = rows_from_json(&row_type, &rows).unwrap();
        assert_eq!(rows[0].elements[0], AlgebraicValue::U128(u128::MAX));
        let bad = rows_from_json(&row_type, &[json!(["x", "0x01"])]).unwrap_err();
        assert!(format!("{bad:#}").contains("rows[0]"), "{bad:#}");
        assert_eq!(
            ModuleSchema::default().type_name(&AlgebraicType::simple_enum(["a", "b"])),
            "enum { a: {}, b: {} }"
        );
    }
}
