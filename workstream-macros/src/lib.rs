//! The `workflow!` macro of workstream. Use it through the `workstream` crate, which
//! re-exports it and provides the paths the generated code names.
//!
//! The macro is a thin pipeline, one stage per module:
//! `input` parses the invocation, `load` reads the file, `workstream_core::parse_bytes`
//! (the one validator, shared with the run time) checks it, `lower` turns the validated
//! workflow into a plain model of what to generate, and `expand` writes the code. Any
//! failure becomes a compile error on the path literal, and a stub module is still emitted so
//! the user sees our error, not a wall of follow-on errors.

use proc_macro::TokenStream;

mod expand;
mod input;
mod load;
mod lower;

/// Generates typestate types from a workflow file.
///
/// ```text
/// workstream::workflow!(pub mod task = "workflows/evaluation_task.yaml");
/// ```
///
/// The path is relative to the calling crate's directory (`CARGO_MANIFEST_DIR`). See the
/// `workstream` crate for what the module holds.
#[proc_macro]
pub fn workflow(input: TokenStream) -> TokenStream {
    let input = match syn::parse::<input::Input>(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error().into(),
    };
    match load::load(&input) {
        Ok(loaded) => expand::expand(&input, &loaded, &lower::lower(&loaded.workflow)),
        Err(failure) => expand::failure(&input, &failure.tracked, &failure.messages),
    }
    .into()
}
