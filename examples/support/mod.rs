//! What the tutorial's examples share: printing an error with its causes. Not an example
//! of its own.

/// The error and each of its causes, on one line: `failed to connect to 127.0.0.1:9999:
/// Connection refused (os error 111)`.
pub fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
