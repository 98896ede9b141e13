#![allow(non_snake_case)]

#[spacetimedb::env]
pub struct Tuple(String);

fn main() {}
