//! placeholder
#[test]
fn schema_compiles() {
    let s = serde_json::json!({"type": "object"});
    let v = jsonschema::draft202012::new(&s).expect("schema");
    assert!(v.is_valid(&serde_json::json!({})));
}
