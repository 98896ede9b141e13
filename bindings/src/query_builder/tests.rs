//! The SQL the builder writes, for a two-table schema written by hand (as `#[table]`
//! would generate it): what the host's SQL must accept.

use super::*;
use spacetime_sats::{Identity, Timestamp};

struct Item;
struct ItemCols {
    id: Col<Item, u64>,
    owner: Col<Item, Identity>,
    name: Col<Item, String>,
    price: Col<Item, u32>,
    sold: Col<Item, bool>,
    at: Col<Item, Timestamp>,
}
struct ItemIxCols {
    owner: IxCol<Item, Identity>,
}
impl HasCols for Item {
    type Cols = ItemCols;
    fn cols(t: TableNameStr) -> ItemCols {
        ItemCols {
            id: Col::new(t, "id"),
            owner: Col::new(t, "owner"),
            name: Col::new(t, "name"),
            price: Col::new(t, "price"),
            sold: Col::new(t, "sold"),
            at: Col::new(t, "at"),
        }
    }
}
impl HasIxCols for Item {
    type IxCols = ItemIxCols;
    fn ix_cols(t: TableNameStr) -> ItemIxCols {
        ItemIxCols {
            owner: IxCol::new(t, "owner"),
        }
    }
}
impl CanBeLookupTable for Item {}

struct Player;
struct PlayerCols {
    score: Col<Player, u32>,
}
struct PlayerIxCols {
    identity: IxCol<Player, Identity>,
}
impl HasCols for Player {
    type Cols = PlayerCols;
    fn cols(t: TableNameStr) -> PlayerCols {
        PlayerCols {
            score: Col::new(t, "score"),
        }
    }
}
impl HasIxCols for Player {
    type IxCols = PlayerIxCols;
    fn ix_cols(t: TableNameStr) -> PlayerIxCols {
        PlayerIxCols {
            identity: IxCol::new(t, "identity"),
        }
    }
}
impl CanBeLookupTable for Player {}

fn item() -> Table<Item> {
    Table::new("item")
}

fn player() -> Table<Player> {
    Table::new("player")
}

#[test]
fn filters_are_parenthesised_conjunctions() {
    assert_eq!(item().build().sql(), r#"SELECT * FROM "item""#);
    assert_eq!(
        item().r#where(|i| i.price.lt(10u32)).into_sql(),
        r#"SELECT * FROM "item" WHERE ("item"."price" < 10)"#
    );
    let q = item()
        .filter(|i| i.price.gte(5u32).or(i.name.eq("it's".to_string())))
        .r#where(|i| i.sold.eq(false).not())
        .r#where(|i| i.id.ne(i.id));
    assert_eq!(
        q.into_sql(),
        r#"SELECT * FROM "item" WHERE (((("item"."price" >= 5) OR ("item"."name" = 'it''s')) AND (NOT ("item"."sold" = FALSE))) AND ("item"."id" <> "item"."id"))"#
    );
    assert_eq!(
        item().r#where(|i| i.sold).into_sql(),
        r#"SELECT * FROM "item" WHERE ("item"."sold" = TRUE)"#
    );
}

#[test]
fn literals_are_written_as_the_host_reads_them() {
    let id = Identity::from_byte_array([1; 32]);
    let sql = item().r#where(|i| i.owner.eq(id)).into_sql();
    assert!(
        sql.ends_with(&format!(r#"("item"."owner" = 0x{})"#, id.to_hex())),
        "{sql}"
    );
    let at = Timestamp::from_micros_since_unix_epoch(1_000);
    let sql = item().r#where(|i| i.at.lte(at)).into_sql();
    assert!(sql.ends_with(&format!(r#"("item"."at" <= '{at}')"#)), "{sql}");
    assert_eq!(
        Timestamp::parse_rfc3339(&at.to_string()).ok(),
        Some(at),
        "the host reads it back"
    );
    assert_eq!((-5i32).to_sql_literal().0, "-5");
    assert_eq!(vec![1u8, 255].to_sql_literal().0, "0x01ff");
    assert_eq!(2.5f32.to_sql_literal().0, "2.5");
}

#[test]
fn semijoins_keep_one_side() {
    let left = item().left_semijoin(player(), |i, p| i.owner.eq(p.identity));
    assert_eq!(
        left.r#where(|i| i.price.gt(1u32)).into_sql(),
        r#"SELECT "item".* FROM "item" JOIN "player" ON "item"."owner" = "player"."identity" WHERE ("item"."price" > 1)"#
    );
    let right = item()
        .r#where(|i| i.price.gt(1u32))
        .right_semijoin(player(), |i, p| i.owner.eq(p.identity))
        .r#where(|p| p.score.gte(10u32));
    assert_eq!(
        right.into_sql(),
        r#"SELECT "player".* FROM "item" JOIN "player" ON "item"."owner" = "player"."identity" WHERE ("item"."price" > 1) AND ("player"."score" >= 10)"#
    );
}

#[test]
fn a_view_call_names_its_arguments_in_order() {
    let call = ViewCall::<Item>::new("items_by", [7u32.to_sql_literal(), "a'b".to_sql_literal()]);
    assert_eq!(call.into_sql(), r#"SELECT * FROM "items_by"(7, 'a''b')"#);
}
