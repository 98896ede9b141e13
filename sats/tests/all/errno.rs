//! The errno table against SpacetimeDB 2.x's `spacetime_10.x` codes (upstream
//! `primitives/src/errno.rs`, as listed in `shared/reference/module-api.md` §2.3).

use spacetime_sats::Errno;

/// Upstream's codes, written out independently of the table under test.
const UPSTREAM: [(u16, &str); 21] = [
    (1, "HOST_CALL_FAILURE"),
    (2, "NOT_IN_TRANSACTION"),
    (3, "BSATN_DECODE_ERROR"),
    (4, "NO_SUCH_TABLE"),
    (5, "NO_SUCH_INDEX"),
    (6, "NO_SUCH_ITER"),
    (7, "NO_SUCH_CONSOLE_TIMER"),
    (8, "NO_SUCH_BYTES"),
    (9, "NO_SPACE"),
    (10, "WRONG_INDEX_ALGO"),
    (11, "BUFFER_TOO_SMALL"),
    (12, "UNIQUE_ALREADY_EXISTS"),
    (13, "SCHEDULE_AT_DELAY_TOO_LONG"),
    (14, "INDEX_NOT_UNIQUE"),
    (15, "NO_SUCH_ROW"),
    (16, "AUTO_INC_OVERFLOW"),
    (17, "WOULD_BLOCK_TRANSACTION"),
    (18, "TRANSACTION_NOT_ANONYMOUS"),
    (19, "TRANSACTION_IS_READ_ONLY"),
    (20, "TRANSACTION_IS_MUT"),
    (21, "HTTP_ERROR"),
];

#[test]
fn table_has_exactly_the_upstream_codes() {
    let ours: Vec<(u16, &str)> = Errno::ALL
        .iter()
        .map(|e| (e.code(), e.name().expect("every code in the table has a name")))
        .collect();
    assert_eq!(ours, UPSTREAM);
}

#[test]
fn constants_carry_the_upstream_numbers() {
    // The constants are what the host, datastore and bindings name; check them one by one
    // so that a swapped pair of constants cannot hide behind a correct table.
    let named = [
        (Errno::HOST_CALL_FAILURE, 1),
        (Errno::NOT_IN_TRANSACTION, 2),
        (Errno::BSATN_DECODE_ERROR, 3),
        (Errno::NO_SUCH_TABLE, 4),
        (Errno::NO_SUCH_INDEX, 5),
        (Errno::NO_SUCH_ITER, 6),
        (Errno::NO_SUCH_CONSOLE_TIMER, 7),
        (Errno::NO_SUCH_BYTES, 8),
        (Errno::NO_SPACE, 9),
        (Errno::WRONG_INDEX_ALGO, 10),
        (Errno::BUFFER_TOO_SMALL, 11),
        (Errno::UNIQUE_ALREADY_EXISTS, 12),
        (Errno::SCHEDULE_AT_DELAY_TOO_LONG, 13),
        (Errno::INDEX_NOT_UNIQUE, 14),
        (Errno::NO_SUCH_ROW, 15),
        (Errno::AUTO_INC_OVERFLOW, 16),
        (Errno::WOULD_BLOCK_TRANSACTION, 17),
        (Errno::TRANSACTION_NOT_ANONYMOUS, 18),
        (Errno::TRANSACTION_IS_READ_ONLY, 19),
        (Errno::TRANSACTION_IS_MUT, 20),
        (Errno::HTTP_ERROR, 21),
    ];
    for (errno, code) in named {
        assert_eq!(errno.code(), code, "{errno:?}");
        assert_eq!(Errno::from_code(code), Some(errno));
        assert!(
            errno.message().is_some_and(|m| !m.is_empty()),
            "{errno:?} has no message"
        );
    }
}

#[test]
fn zero_is_success_and_unknown_codes_survive() {
    assert_eq!(Errno::from_code(0), None);
    let unknown = Errno::from_code(999).expect("non-zero");
    assert_eq!(unknown.code(), 999);
    assert_eq!(unknown.name(), None);
    assert_eq!(unknown.to_string(), "Unknown error (error 999)");
    assert_eq!(Errno::NO_SUCH_TABLE.to_string(), "No such table (error 4)");
}
