//! Stage 1: the invocation, `#[attrs] VIS mod NAME = "PATH" [, previous = ["OLDER", …]];`.

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
    /// The files of older versions, whose migrations into this one are checked.
    pub(crate) previous: Vec<LitStr>,
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
        let mut previous = Vec::new();
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            let key: Ident = input.parse()?;
            if key != "previous" {
                return Err(syn::Error::new(
                    key.span(),
                    "expected `previous = [\"older.yaml\", …]` after the path",
                ));
            }
            input.parse::<Token![=]>()?;
            let list;
            syn::bracketed!(list in input);
            let files = list.parse_terminated(|p| p.parse::<LitStr>(), Token![,])?;
            previous = files.into_iter().collect();
        }
        if input.peek(Token![;]) {
            input.parse::<Token![;]>()?;
        }
        if !input.is_empty() {
            return Err(input.error(
                "unexpected tokens after the path; expected nothing, `;` or `, previous = [...]`",
            ));
        }
        Ok(Input {
            attrs,
            vis,
            name,
            path,
            previous,
        })
    }
}
