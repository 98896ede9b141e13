//! What the CLI reads from a module's SATS-JSON schema (`GET /schema?version=10`) and from
//! SQL results: types, typed values, and the reducers and procedures with their parameters.
//!
//! SATS-JSON as SpacetimeDB writes it: a type is `{"U32": []}`, `{"Ref": 3}`,
//! `{"Array": <elem>}`, `{"Product": {"elements": [{"name": {"some": "x"}, "algebraic_type": …}]}}`
//! or `{"Sum": {"variants": […]}}`; a product value is an array (or an object keyed by
//! field name), a sum value `{"variant": payload}`, bytes a hex string, 256-bit integers
//! `"0x…"` strings.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use spacetime_sats::{
    i256, u256, AlgebraicType, AlgebraicTypeRef, AlgebraicValue, ArrayType, ProductType, ProductTypeElement, SumType,
    SumTypeVariant, SumValue,
};

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
    /// Reads a V10 schema (`{"sections": […]}`); a V9 one (`{"typespace", "reducers", …}`)
    /// is read too.
    ///
    /// # Errors
    /// When the JSON does not have the shape of a module definition.
    pub fn from_json(schema: &Value) -> Result<Self> {
        let Some(sections) = schema.get("sections").and_then(Value::as_array) else {
            return Self::from_v9_json(schema);
        };
        let mut out = Self::default();
        let mut lifecycle_names = Vec::new();
        for section in sections {
            if let Some(typespace) = section.get("Typespace") {
                out.typespace = types_of(typespace)?;
            } else if let Some(reducers) = section.get("Reducers") {
                out.reducers = functions(reducers, "source_name")?;
            } else if let Some(procedures) = section.get("Procedures") {
                out.procedures = functions(procedures, "source_name")?;
            } else if let Some(lifecycles) = section.get("LifeCycleReducers").and_then(Value::as_array) {
                lifecycle_names.extend(
                    lifecycles.iter().filter_map(|l| l.get("function_name")).filter_map(Value::as_str).map(str::to_owned),
                );
            }
        }
        for reducer in &mut out.reducers {
            reducer.lifecycle = lifecycle_names.contains(&reducer.name);
        }
        Ok(out)
    }

    fn from_v9_json(schema: &Value) -> Result<Self> {
        let typespace = schema.get("typespace").ok_or_else(|| anyhow!("the schema has neither `sections` nor `typespace`"))?;
        let mut reducers = match schema.get("reducers") {
            Some(r) => functions(r, "name")?,
            None => Vec::new(),
        };
        if let Some(list) = schema.get("reducers").and_then(Value::as_array) {
            for (reducer, json) in reducers.iter_mut().zip(list) {
                reducer.lifecycle = json.get("lifecycle").and_then(option_of).is_some();
            }
        }
        Ok(Self { typespace: types_of(typespace)?, reducers, procedures: Vec::new() })
    }

    /// The reducer called `name`.
    pub fn reducer(&self, name: &str) -> Option<&Function> {
        self.reducers.iter().find(|r| r.name == name)
    }

    /// The procedure called `name`.
    pub fn procedure(&self, name: &str) -> Option<&Function> {
        self.procedures.iter().find(|p| p.name == name)
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
        let braced = |items: Vec<String>| if items.is_empty() { "{}".to_owned() } else { format!("{{ {} }}", items.join(", ")) };
        match ty {
            AlgebraicType::Product(p) if p.is_identity() => "Identity".into(),
            AlgebraicType::Product(p) if p.is_connection_id() => "ConnectionId".into(),
            AlgebraicType::Product(p) if p.is_timestamp() => "Timestamp".into(),
            AlgebraicType::Product(p) if p.is_time_duration() => "TimeDuration".into(),
            AlgebraicType::Product(p) if p.is_uuid() => "Uuid".into(),
            AlgebraicType::Sum(s) if s.is_schedule_at() => "ScheduleAt".into(),
            AlgebraicType::Sum(s) => match s.as_option() {
                Some(inner) => format!("Option<{}>", self.type_name_depth(inner, depth + 1)),
                None => format!("enum {}", braced(s.variants.iter().map(|v| named(v.name(), &v.algebraic_type)).collect())),
            },
            AlgebraicType::Product(p) => braced(p.elements.iter().map(|e| named(e.name(), &e.algebraic_type)).collect()),
            AlgebraicType::Array(a) => format!("Vec<{}>", self.type_name_depth(&a.elem_ty, depth + 1)),
            AlgebraicType::Ref(r) => format!("<unknown type #{}>", r.0),
            AlgebraicType::String => "String".into(),
            primitive => format!("{primitive:?}").to_ascii_lowercase(),
        }
    }
}

fn types_of(typespace: &Value) -> Result<Vec<AlgebraicType>> {
    typespace
        .get("types")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the typespace has no `types` list"))?
        .iter()
        .map(type_from_json)
        .collect()
}

fn functions(list: &Value, name_key: &str) -> Result<Vec<Function>> {
    let list = list.as_array().ok_or_else(|| anyhow!("a function list is not an array"))?;
    list.iter()
        .map(|f| {
            let name = f.get(name_key).and_then(Value::as_str).ok_or_else(|| anyhow!("a function has no `{name_key}`"))?;
            let params = f.get("params").ok_or_else(|| anyhow!("function `{name}` has no `params`"))?;
            Ok(Function { name: name.to_owned(), params: product_type_from_json(params)?, lifecycle: false })
        })
        .collect()
}

/// The payload of an `Option` in SATS-JSON: `{"some": v}` → `Some(v)`, `{"none": []}` → `None`.
fn option_of(value: &Value) -> Option<&Value> {
    value.get("some")
}

/// Reads a SATS-JSON `ProductType` (`{"elements": […]}`).
///
/// # Errors
/// When the JSON is not a product type.
pub fn product_type_from_json(json: &Value) -> Result<ProductType> {
    let elements = json
        .get("elements")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("expected a product type ({{\"elements\": […]}}), found {json}"))?;
    elements
        .iter()
        .map(|e| {
            let ty = e.get("algebraic_type").ok_or_else(|| anyhow!("a product element has no `algebraic_type`: {e}"))?;
            Ok(ProductTypeElement { name: name_of(e), algebraic_type: type_from_json(ty)? })
        })
        .collect::<Result<_>>()
        .map(ProductType::new)
}

fn name_of(element: &Value) -> Option<Box<str>> {
    match element.get("name")? {
        Value::String(s) => Some(s.as_str().into()),
        other => option_of(other).and_then(Value::as_str).map(Into::into),
    }
}

/// Reads a SATS-JSON `AlgebraicType`.
///
/// # Errors
/// When the JSON is not a type.
pub fn type_from_json(json: &Value) -> Result<AlgebraicType> {
    let (kind, payload) = match json.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) {
        Some(entry) => entry,
        None => bail!("expected a type such as {{\"U32\": []}}, found {json}"),
    };
    Ok(match kind.as_str() {
        "Ref" => AlgebraicType::Ref(AlgebraicTypeRef(
            payload.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| anyhow!("bad type ref {payload}"))?,
        )),
        "Array" => AlgebraicType::Array(ArrayType { elem_ty: Box::new(type_from_json(payload)?) }),
        "Product" => AlgebraicType::Product(product_type_from_json(payload)?),
        "Sum" => {
            let variants = payload
                .get("variants")
                .and_then(Value::as_array)
                .ok_or_else(|| anyhow!("a sum type has no `variants`: {payload}"))?;
            let variants = variants
                .iter()
                .map(|v| {
                    let ty = v.get("algebraic_type").ok_or_else(|| anyhow!("a variant has no `algebraic_type`: {v}"))?;
                    Ok(SumTypeVariant { name: name_of(v), algebraic_type: type_from_json(ty)? })
                })
                .collect::<Result<_>>()?;
            AlgebraicType::Sum(SumType::new(variants))
        }
        "String" => AlgebraicType::String,
        "Bool" => AlgebraicType::Bool,
        "I8" => AlgebraicType::I8,
        "U8" => AlgebraicType::U8,
        "I16" => AlgebraicType::I16,
        "U16" => AlgebraicType::U16,
        "I32" => AlgebraicType::I32,
        "U32" => AlgebraicType::U32,
        "I64" => AlgebraicType::I64,
        "U64" => AlgebraicType::U64,
        "I128" => AlgebraicType::I128,
        "U128" => AlgebraicType::U128,
        "I256" => AlgebraicType::I256,
        "U256" => AlgebraicType::U256,
        "F32" => AlgebraicType::F32,
        "F64" => AlgebraicType::F64,
        other => bail!("unknown type kind `{other}`"),
    })
}

/// Reads a SATS-JSON value of type `ty` (which must not contain `Ref`s).
///
/// # Errors
/// When the JSON does not fit the type.
pub fn value_from_json(ty: &AlgebraicType, json: &Value) -> Result<AlgebraicValue> {
    let mismatch = || anyhow!("expected a value of type {ty:?}, found {json}");
    Ok(match ty {
        AlgebraicType::Bool => AlgebraicValue::Bool(json.as_bool().ok_or_else(mismatch)?),
        AlgebraicType::I8 => AlgebraicValue::I8(integer(json)?),
        AlgebraicType::U8 => AlgebraicValue::U8(integer(json)?),
        AlgebraicType::I16 => AlgebraicValue::I16(integer(json)?),
        AlgebraicType::U16 => AlgebraicValue::U16(integer(json)?),
        AlgebraicType::I32 => AlgebraicValue::I32(integer(json)?),
        AlgebraicType::U32 => AlgebraicValue::U32(integer(json)?),
        AlgebraicType::I64 => AlgebraicValue::I64(integer(json)?),
        AlgebraicType::U64 => AlgebraicValue::U64(integer(json)?),
        AlgebraicType::I128 => AlgebraicValue::I128(integer(json)?),
        AlgebraicType::U128 => AlgebraicValue::U128(integer(json)?),
        AlgebraicType::I256 => AlgebraicValue::I256(Box::new(wide_integer(json, i256::from_str_radix, |v| Some(-v))?)),
        AlgebraicType::U256 => AlgebraicValue::U256(Box::new(wide_integer(json, u256::from_str_radix, |_| None)?)),
        // Narrowing to f32 is exact: the server wrote the f32's shortest decimal form.
        AlgebraicType::F32 => AlgebraicValue::F32((json.as_f64().ok_or_else(mismatch)? as f32).into()),
        AlgebraicType::F64 => AlgebraicValue::F64(json.as_f64().ok_or_else(mismatch)?.into()),
        AlgebraicType::String => AlgebraicValue::string(json.as_str().ok_or_else(mismatch)?),
        AlgebraicType::Array(array) => match (&*array.elem_ty, json) {
            (AlgebraicType::U8, Value::String(hex)) => AlgebraicValue::bytes(
                hex::decode(hex.strip_prefix("0x").unwrap_or(hex)).with_context(|| format!("bad hex bytes {json}"))?,
            ),
            (elem, Value::Array(items)) => {
                let values = items.iter().map(|v| value_from_json(elem, v)).collect::<Result<Vec<_>>>()?;
                AlgebraicValue::array(values)
            }
            _ => return Err(mismatch()),
        },
        AlgebraicType::Product(product) => {
            let fields: Vec<&Value> = match json {
                Value::Array(items) => items.iter().collect(),
                Value::Object(map) => product
                    .elements
                    .iter()
                    .map(|e| e.name().and_then(|n| map.get(n)).ok_or_else(mismatch))
                    .collect::<Result<_>>()?,
                _ => return Err(mismatch()),
            };
            if fields.len() != product.elements.len() {
                return Err(mismatch());
            }
            let values = product
                .elements
                .iter()
                .zip(fields)
                .map(|(e, v)| value_from_json(&e.algebraic_type, v))
                .collect::<Result<Vec<_>>>()?;
            AlgebraicValue::product(values)
        }
        AlgebraicType::Sum(sum) => {
            let (tag, payload) = match json {
                Value::Object(map) if map.len() == 1 => {
                    let (name, payload) = map.iter().next().ok_or_else(mismatch)?;
                    (sum.tag_of(name).ok_or_else(|| anyhow!("no variant `{name}` in {ty:?}"))?, payload)
                }
                Value::Array(pair) if pair.len() == 2 => (integer::<u8>(&pair[0])?, &pair[1]),
                _ => return Err(mismatch()),
            };
            let variant = sum.variants.get(usize::from(tag)).ok_or_else(mismatch)?;
            AlgebraicValue::Sum(SumValue::new(tag, value_from_json(&variant.algebraic_type, payload)?))
        }
        AlgebraicType::Ref(r) => bail!("cannot decode a value of the unresolved type ref #{}", r.0),
    })
}

/// An integer written as a JSON number (exact thanks to `arbitrary_precision`) or string.
fn integer<T: std::str::FromStr>(json: &Value) -> Result<T> {
    let text = match json {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => bail!("expected an integer, found {json}"),
    };
    text.parse().map_err(|_| anyhow!("`{text}` is not an integer of the expected width"))
}

/// A 256-bit integer written as `"0x…"` (`"-0x…"`), a decimal string, or a number.
fn wide_integer<T, E>(json: &Value, from_radix: fn(&str, u32) -> Result<T, E>, negate: fn(T) -> Option<T>) -> Result<T> {
    let text = match json {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => bail!("expected a 256-bit integer, found {json}"),
    };
    let bad = || anyhow!("`{text}` is not a 256-bit integer");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (radix, digits) = match digits.strip_prefix("0x") {
        Some(hex) => (16, hex),
        None => (10, digits),
    };
    let magnitude = from_radix(digits, radix).map_err(|_| bad())?;
    if negative {
        negate(magnitude).ok_or_else(bad)
    } else {
        Ok(magnitude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_v10_functions_and_resolves_refs() {
        let schema = json!({ "sections": [
            { "Typespace": { "types": [ { "Product": { "elements": [
                { "name": { "some": "name" }, "algebraic_type": { "String": [] } } ] } } ] } },
            { "Reducers": [
                { "source_name": "add", "params": { "elements": [
                    { "name": { "some": "person" }, "algebraic_type": { "Ref": 0 } },
                    { "name": { "some": "who" }, "algebraic_type": { "Product": { "elements": [
                        { "name": { "some": "__identity__" }, "algebraic_type": { "U256": [] } } ] } } },
                    { "name": { "some": "tags" }, "algebraic_type": { "Array": { "Sum": { "variants": [
                        { "name": { "some": "some" }, "algebraic_type": { "U8": [] } },
                        { "name": { "some": "none" }, "algebraic_type": { "Product": { "elements": [] } } } ] } } } }
                ] } },
                { "source_name": "init", "params": { "elements": [] } }
            ] },
            { "LifeCycleReducers": [ { "lifecycle_spec": { "Init": [] }, "function_name": "init" } ] }
        ]});
        let s = ModuleSchema::from_json(&schema).unwrap();
        let add = s.reducer("add").unwrap();
        assert!(!add.lifecycle && s.reducer("init").unwrap().lifecycle);
        let names: Vec<String> = add.params.elements.iter().map(|e| s.type_name(&e.algebraic_type)).collect();
        assert_eq!(names, ["{ name: String }", "Identity", "Vec<Option<u8>>"]);
        assert_eq!(s.resolve(&add.params.elements[0].algebraic_type).as_product().unwrap().elements.len(), 1);
    }

    #[test]
    fn decodes_values() {
        let ty = AlgebraicType::product([
            ("id", AlgebraicType::U128),
            ("who", AlgebraicType::identity()),
            ("big", AlgebraicType::I256),
            ("blob", AlgebraicType::bytes()),
            ("opt", AlgebraicType::option(AlgebraicType::String)),
            ("f", AlgebraicType::F32),
        ]);
        let row = json!([
            340282366920938463463374607431768211455u128,
            { "__identity__": "0x0000000000000000000000000000000000000000000000000000000000000001" },
            "-0x10",
            "0102",
            { "some": "x" },
            594806.56
        ]);
        let value = value_from_json(&ty, &row).unwrap();
        let p = value.as_product().unwrap();
        assert_eq!(p.elements[0], AlgebraicValue::U128(u128::MAX));
        assert_eq!(p.elements[1], AlgebraicValue::product(vec![AlgebraicValue::U256(Box::new(u256::from(1u8)))]));
        assert_eq!(p.elements[2], AlgebraicValue::I256(Box::new(i256::from(-16i32))));
        assert_eq!(p.elements[3], AlgebraicValue::bytes(vec![1, 2]));
        assert_eq!(p.elements[4], AlgebraicValue::some(AlgebraicValue::string("x")));
        assert_eq!(crate::render::render_value(&AlgebraicType::F32, &p.elements[5]), "594806.56");
        let by_name = json!({ "id": 1, "who": ["0x00000000000000000000000000000000000000000000000000000000000000ff"],
            "big": 5, "blob": [], "opt": { "none": [] }, "f": 1.5 });
        assert!(value_from_json(&ty, &by_name).is_ok());
        assert!(value_from_json(&AlgebraicType::U8, &json!(300)).is_err());
        assert!(value_from_json(&AlgebraicType::String, &json!(1)).is_err());
    }

    #[test]
    fn reads_types() {
        assert_eq!(type_from_json(&json!({ "Array": { "U8": [] } })).unwrap(), AlgebraicType::bytes());
        assert!(type_from_json(&json!({ "Nope": [] })).is_err());
        assert!(type_from_json(&json!("U8")).is_err());
        assert_eq!(
            ModuleSchema::default().type_name(&AlgebraicType::simple_enum(["a", "b"])),
            "enum { a: {}, b: {} }"
        );
    }
}
