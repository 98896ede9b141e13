use spacetimedb::CaseConversionPolicy;

#[spacetimedb::settings]
const NAMING: CaseConversionPolicy = CaseConversionPolicy::None;

fn main() {}
