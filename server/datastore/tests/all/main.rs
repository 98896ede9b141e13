//! Integration tests of the datastore, one module per area. Shared fixtures live here.

mod model;
mod scans;
mod sequences;
mod tx;
mod writes;

use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::model::TableDef;
use spacetime_sats::{AlgebraicType, AlgebraicValue, IndexId, ProductValue, TableId, Typespace};

/// The BSATN of a row with these column values.
pub fn enc(values: Vec<AlgebraicValue>) -> Vec<u8> {
    to_vec(&ProductValue::new(values))
}

/// `person(id: u64 pk auto_inc, name: string unique, age: u32 btree)`.
pub fn person() -> TableDef {
    TableBuilder::new("person")
        .accessor("Person")
        .column("id", AlgebraicType::U64)
        .column("name", AlgebraicType::String)
        .column("age", AlgebraicType::U32)
        .primary_key("id")
        .auto_inc("id")
        .unique(&["name"])
        .btree(&["age"])
        .build()
}

pub fn person_row(id: u64, name: &str, age: u32) -> Vec<u8> {
    enc(vec![id.into(), name.into(), age.into()])
}

/// A datastore holding the `person` table.
pub fn person_ds() -> (Datastore, TableId) {
    let mut ds = Datastore::new();
    let t = ds.create_table(&person(), &Typespace::default()).unwrap();
    (ds, t)
}

pub fn index(ds: &Datastore, name: &str) -> IndexId {
    ds.index_id_from_name(name).unwrap()
}

/// Every row of `table`, decoded and sorted.
pub fn rows(ds: &Datastore, table: TableId) -> Vec<ProductValue> {
    let mut rows = ds
        .scan(table)
        .unwrap()
        .map(|r| r.to_product_value())
        .collect::<Vec<_>>();
    rows.sort();
    rows
}

pub fn pv(values: Vec<AlgebraicValue>) -> ProductValue {
    ProductValue::new(values)
}

pub fn person_pv(id: u64, name: &str, age: u32) -> ProductValue {
    pv(vec![id.into(), name.into(), age.into()])
}
