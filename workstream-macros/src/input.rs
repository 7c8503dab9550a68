//! Stage 1: the invocation, `#[attrs] VIS mod NAME = "PATH";`.

use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, LitStr, Token, Visibility};

/// What the macro was asked for.
pub(crate) struct Input {
    /// Attributes (doc comments included) to put on the module.
    pub(crate) attrs: Vec<Attribute>,
    /// The module's visibility.
    pub(crate) vis: Visibility,
    /// The module's name.
    pub(crate) name: Ident,
    /// The path literal, relative to `CARGO_MANIFEST_DIR`; errors point at it.
    pub(crate) path: LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![mod]>()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the workflow file's path as a string literal: \
                 `mod task = \"workflows/task.yaml\"`",
            )
        })?;
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the path; expected nothing or `;`"));
        }
        Ok(Input {
            attrs,
            vis,
            name,
            path,
        })
    }
}
