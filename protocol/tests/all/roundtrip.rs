//! Round trips, row-list splitting and malformed input.

use spacetime_protocol::v2::*;
use spacetime_protocol::{v3, BsatnRowList, ProtocolError, QuerySetId, RowSizeHint};

#[test]
fn row_lists_split_rows_both_ways() {
    let fixed = BsatnRowList::from_rows([[1u8, 2], [3, 4], [5, 6]]);
    assert_eq!(fixed.size_hint(), &RowSizeHint::FixedSize(2));
    assert_eq!(
        fixed.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
        vec![vec![1, 2], vec![3, 4], vec![5, 6]]
    );

    let ragged = BsatnRowList::from_rows([&[1u8][..], &[2, 3, 4], &[]]);
    assert_eq!(ragged.size_hint(), &RowSizeHint::RowOffsets(vec![0, 1, 4]));
    assert_eq!(ragged.len(), 3);
    assert_eq!(ragged.get(1).as_deref(), Some(&[2u8, 3, 4][..]));
    assert_eq!(ragged.get(2).as_deref(), Some(&[][..]));
    assert_eq!(ragged.get(3), None);

    let empty = BsatnRowList::from_rows(Vec::<Vec<u8>>::new());
    assert!(empty.is_empty());
    let decoded: BsatnRowList = spacetime_sats::bsatn::from_slice(&spacetime_sats::bsatn::to_vec(&ragged)).unwrap();
    assert_eq!(decoded, ragged);
}

#[test]
fn row_lists_reject_hints_that_do_not_fit_the_data() {
    assert!(BsatnRowList::fixed_size(3, vec![0u8; 4]).is_err());
    assert!(BsatnRowList::fixed_size(0, vec![0u8; 4]).is_err());
    assert!(BsatnRowList::new(RowSizeHint::RowOffsets(vec![0, 9]), vec![0u8; 4].into()).is_err());
    assert!(BsatnRowList::new(RowSizeHint::RowOffsets(vec![2, 1]), vec![0u8; 4].into()).is_err());
    assert!(BsatnRowList::new(RowSizeHint::RowOffsets(vec![]), vec![0u8; 4].into()).is_err());
    // A fixed size of 3 over 4 bytes, on the wire, is a decode error rather than a panic later.
    let mut bad = vec![0u8];
    bad.extend_from_slice(&3u16.to_le_bytes());
    bad.extend_from_slice(&4u32.to_le_bytes());
    bad.extend_from_slice(&[0; 4]);
    let err = spacetime_sats::bsatn::from_slice::<BsatnRowList>(&bad).unwrap_err();
    assert!(err.to_string().contains("rows of 3 bytes"), "{err}");
}

#[test]
fn malformed_messages_are_errors_not_panics() {
    assert!(ServerMessage::from_bytes(&[]).is_err());
    assert!(ServerMessage::from_bytes(&[8])
        .unwrap_err()
        .to_string()
        .contains("invalid sum tag 8"));
    assert!(ClientMessage::from_bytes(&[5]).is_err());
    // A CallReducer whose flags byte is not 0.
    let mut call = ClientMessage::CallReducer(CallReducer {
        request_id: 1,
        flags: CallFlags::Default,
        reducer: "r".into(),
        args: vec![],
    })
    .to_bytes();
    call[5] = 1;
    assert!(ClientMessage::from_bytes(&call)
        .unwrap_err()
        .to_string()
        .contains("call flags 1"));
    // Every truncation of a valid message fails cleanly.
    let full = ServerMessage::InitialConnection(InitialConnection {
        identity: Default::default(),
        connection_id: Default::default(),
        token: "abc".into(),
    })
    .to_bytes();
    for len in 0..full.len() {
        assert!(
            ServerMessage::from_bytes(&full[..len]).is_err(),
            "prefix of {len} bytes decoded"
        );
    }
    let mut trailing = full.clone();
    trailing.push(0);
    assert!(ServerMessage::from_bytes(&trailing).is_err());
}

#[test]
fn v3_frames_carry_several_messages_in_order() {
    let messages = vec![
        ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 1,
            query_string: "SELECT * FROM t".into(),
        }),
        ClientMessage::Unsubscribe(Unsubscribe {
            request_id: 2,
            query_set_id: QuerySetId::new(3),
            flags: UnsubscribeFlags::SendDroppedRows,
        }),
        ClientMessage::Subscribe(Subscribe {
            request_id: 4,
            query_set_id: QuerySetId::new(5),
            query_strings: vec![],
        }),
    ];
    let frame = v3::encode_frame(&messages);
    assert_eq!(
        frame,
        messages.iter().flat_map(ClientMessage::to_bytes).collect::<Vec<_>>()
    );
    assert_eq!(v3::decode_frame::<ClientMessage>(&frame).unwrap(), messages);
    assert_eq!(v3::decode_frame::<ClientMessage>(&[]), Err(ProtocolError::EmptyPayload));
    assert!(matches!(
        v3::decode_frame::<ClientMessage>(&frame[..frame.len() - 1]),
        Err(ProtocolError::Decode(_))
    ));
}
