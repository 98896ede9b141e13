//! The credentials file: upstream's layout and encoding.

use spacetimedb_sdk::credentials::File;

#[test]
fn tokens_round_trip_in_upstream_format() {
    let dir = std::env::temp_dir().join(format!("spacetime-sdk-credentials-{}", std::process::id()));
    let file = File::in_dir(&dir, "my_app");
    assert_eq!(file.load().unwrap(), None);
    file.save("eyJ.token").unwrap();
    assert_eq!(file.load().unwrap().as_deref(), Some("eyJ.token"));
    // BSATN of `{ token: String }`: u32 length, then the bytes.
    let bytes = std::fs::read(dir.join("my_app")).unwrap();
    assert_eq!(bytes, [&9u32.to_le_bytes()[..], b"eyJ.token"].concat());
    std::fs::write(dir.join("my_app"), [1, 2]).unwrap();
    let err = file.load().unwrap_err();
    assert!(err.to_string().contains("does not hold saved credentials"), "{err}");
    assert!(File::new("k")
        .path()
        .map(|p| p.ends_with(".spacetimedb_client_credentials/k"))
        .unwrap_or(true));
    let _ = std::fs::remove_dir_all(dir);
}
