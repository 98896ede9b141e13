//! Code generation, one file per item kind. Generators read only the model, never raw
//! attributes, and name only `::spacetimedb::__private::…` paths so the output does not
//! depend on what the user imported.

pub mod reducer;
pub mod sats;
pub mod table;
pub mod view;

use proc_macro2::TokenStream;
use quote::quote;

/// The path of the runtime support module in the bindings crate.
pub fn private() -> TokenStream {
    quote!(::spacetimedb::__private)
}

/// The symbol of the describer export for `name`; the host calls these sorted by name,
/// which fixes the order of tables and reducers in the module definition.
pub fn describer_symbol(name: &str) -> String {
    format!("__preinit__20_register_describer_{name}")
}
