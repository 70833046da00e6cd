use serde_json::json;
#[test]
fn tmp_schema() {
    let t = std::time::Instant::now();
    let spec = crate::schema::shared_spec().unwrap();
    eprintln!("load {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let v = spec.validate(
        "POST",
        "/channels/1/messages",
        &json!({"content": "hi", "embeds": [{"title": "x".repeat(300)}]}),
    );
    eprintln!("compile+validate {:?} {v:#?}", t.elapsed());
    let t = std::time::Instant::now();
    let v = spec.validate(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 4, "data": {"content": "x".repeat(2001)}}),
    );
    eprintln!("compile+validate {:?} {v:#?}", t.elapsed());
    let v = spec.validate(
        "POST",
        "/interactions/1/tok/callback",
        &json!({"type": 8, "data": {"choices": [{"name": "a", "value": "b"}]}}),
    );
    eprintln!("{v:#?}");
    let v = spec.validate(
        "PATCH",
        "/webhooks/1/tok/messages/@original",
        &json!({"content": "x", "embeds": []}),
    );
    eprintln!("{v:#?}");
    eprintln!(
        "{:?}",
        spec.template_for("/webhooks/1/tok/messages/@original")
    );
}
