//! Stage 4: the module's code.
//!
//! Generated code names only `::workstream::__private::…` paths, so it compiles in any crate
//! that depends on `workstream`, whatever else that crate imports.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::input::Input;
use crate::load::Loaded;
use crate::lower::Model;

pub(crate) fn expand(input: &Input, loaded: &Loaded, model: &Model) -> TokenStream {
    let Input {
        attrs, vis, name, ..
    } = input;
    let path = input.path.value();
    let absolute = &loaded.absolute;
    let previous = &loaded.previous;
    let wf = &loaded.workflow;
    let doc = &model.doc;
    let wf_name = wf.name();
    let version = wf.version();
    let hash = wf.definition_hash().to_string();
    let format1_hash = wf.format1_hash().to_string();
    let p = quote!(::workstream::__private);

    let types: Vec<_> = model
        .workstations
        .iter()
        .map(|w| format_ident!("{}", w.ty))
        .collect();
    let workstation_names: Vec<&str> = model.workstations.iter().map(|w| w.name.as_str()).collect();
    let workstation_docs: Vec<&str> = model.workstations.iter().map(|w| w.doc.as_str()).collect();
    let initial = &types[wf.initial().index()];
    let initial_name = workstation_names[wf.initial().index()];

    let methods = model.methods.iter().map(|m| {
        let from = &types[m.from];
        let to = &types[m.to];
        let from_name = workstation_names[m.from];
        let method = format_ident!("{}", m.name);
        let method_with = format_ident!("{}_with", m.name);
        let doc = &m.doc;
        let doc_with = format!(
            "[`{}`](Self::{}), recording a field patch, a reason or a payload with the move \
             (see [`With`](::workstream::With)).",
            m.name, m.name
        );
        let index = m.transition;
        quote! {
            impl Item<#from> {
                #[doc = #doc]
                pub fn #method<__S: #p::Store>(
                    self,
                    engine: &#p::Engine<__S>,
                    actor: &#p::Actor,
                ) -> ::core::result::Result<Item<#to>, #p::MoveError<Item<#from>>> {
                    self.#method_with(engine, actor, #p::With::new())
                }

                #[doc = #doc_with]
                pub fn #method_with<__S: #p::Store>(
                    self,
                    engine: &#p::Engine<__S>,
                    actor: &#p::Actor,
                    with: #p::With,
                ) -> ::core::result::Result<Item<#to>, #p::MoveError<Item<#from>>> {
                    #p::advance(self, engine, actor, #index, #from_name, with).map(Item::__seal)
                }
            }
        }
    });

    // Stable Rust has no warning for a macro to emit; a use of a deprecated item makes rustc
    // show its note as a warning on the invocation (`-D warnings` then refuses the file, as it
    // should).
    let span = input.path.span();
    let warnings = model.warnings.iter().enumerate().map(|(i, text)| {
        let item = format_ident!("__workstream_warning_{}", i);
        let note = format!("the workflow file has a warning:\n{text}");
        quote_spanned! {span=>
            #[deprecated(note = #note)]
            #[allow(non_camel_case_types)]
            struct #item;
            const _: () = {
                let _ = #item;
            };
        }
    });

    // Constants for the names the file declares, so code names them without a typo.
    let constants = |names: &[String], what: &str| {
        let idents: Vec<_> = names
            .iter()
            .map(|n| format_ident!("{}", n.to_uppercase()))
            .collect();
        let docs: Vec<String> = names.iter().map(|n| format!("The {what} `{n}`.")).collect();
        quote! { #( #[doc = #docs] pub const #idents: &str = #names; )* }
    };
    let role_consts = constants(wf.roles(), "role");
    let hold_consts = constants(wf.holds(), "hold");
    let check_consts = constants(wf.checks(), "check");
    let check_methods = wf.checks().iter().map(|c| {
        let method = format_ident!("{}", c);
        let doc = format!("Registers the function for the check `{c}`.");
        quote! {
            #[doc = #doc]
            pub fn #method(
                self,
                check: impl ::core::ops::Fn(&#p::CheckContext<'_>) -> #p::Verdict
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static,
            ) -> Self {
                Checks(self.0.add(#c, check))
            }
        }
    });

    let variant_docs = workstation_names
        .iter()
        .map(|n| format!("An item in `{n}`."));
    quote! {
        #(#attrs)*
        #[doc = #doc]
        #vis mod #name {
            // Editing the file (or an older version's) makes cargo rebuild the crate.
            const _: &[u8] = ::core::include_bytes!(#absolute);
            #( const _: &[u8] = ::core::include_bytes!(#previous); )*

            #(#warnings)*

            /// The workflow file, as compiled in.
            pub const SOURCE: &str = ::core::include_str!(#absolute);
            /// The file's path, relative to the crate's directory.
            pub const PATH: &str = #path;
            /// The workflow's name.
            pub const NAME: &str = #wf_name;
            /// The workflow's version.
            pub const VERSION: u32 = #version;
            /// The definition hash computed when the crate was compiled.
            pub const DEFINITION_HASH: &str = #hash;

            const COMPILED: #p::Compiled = #p::Compiled {
                name: NAME,
                version: VERSION,
                hash: DEFINITION_HASH,
                format1_hash: #format1_hash,
            };

            /// The workflow, parsed from the embedded file (once per program) and checked
            /// against [`DEFINITION_HASH`]: load it into the engine the typed items move
            /// through.
            pub fn workflow() -> ::core::result::Result<#p::Workflow, #p::Error> {
                static PARSED: #p::OnceLock<#p::Workflow> = #p::OnceLock::new();
                #p::definition_once(&PARSED, PATH, SOURCE, DEFINITION_HASH)
            }

            #(
                #[doc = #workstation_docs]
                #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
                pub struct #types;

                impl #p::WorkstationType for #types {
                    const NAME: &'static str = #workstation_names;
                }
            )*

            /// An item of this workflow in workstation `W`. Its methods are the transitions
            /// that may fire from `W`; each consumes the item and returns it in the target
            /// workstation, or hands it back with every reason the move was refused. It
            /// dereferences to the item's current state.
            ///
            /// Only this module makes one (`create`, a move, [`AnyItem::load`] and
            /// [`AnyItem::from_item`], which check the item's workflow, definition and
            /// workstation), so an `Item<W>` is always an item in `W`.
            pub struct Item<__W> {
                inner: #p::Item,
                workstation: ::core::marker::PhantomData<__W>,
            }

            impl<__W> Item<__W> {
                /// Wraps an item the engine checked to be in `W`. Private to this module, so
                /// no code outside it can make an `Item<W>` of an item in another workstation.
                fn __seal(item: #p::Item) -> Self {
                    Item { inner: item, workstation: ::core::marker::PhantomData }
                }
            }

            /// A copy of the typed item, in the same workstation.
            impl<__W> ::core::clone::Clone for Item<__W> {
                fn clone(&self) -> Self {
                    Item::__seal(self.inner.clone())
                }
            }

            impl<__W: #p::WorkstationType> #p::Typed for Item<__W> {
                fn as_item(&self) -> &#p::Item {
                    &self.inner
                }
                fn into_item(self) -> #p::Item {
                    self.inner
                }
            }

            impl<__W> ::core::ops::Deref for Item<__W> {
                type Target = #p::Item;
                fn deref(&self) -> &#p::Item {
                    &self.inner
                }
            }

            impl<__W: #p::WorkstationType> ::core::fmt::Debug for Item<__W> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct("Item")
                        .field("workstation", &<__W as #p::WorkstationType>::NAME)
                        .field("item", &self.inner)
                        .finish()
                }
            }

            impl<__W: #p::WorkstationType> Item<__W> {
                /// Puts a hold of kind `hold` on the item, with a reason; the item stays in
                /// `W`. Refused (the item back, and why) when the hold is already on, the item
                /// is closed, or it is no longer in `W`.
                pub fn put_on_hold<__S: #p::Store>(
                    self,
                    engine: &#p::Engine<__S>,
                    actor: &#p::Actor,
                    hold: &str,
                    reason: &str,
                ) -> ::core::result::Result<Self, #p::MoveError<Self>> {
                    let change = #p::Stay::Hold(hold, reason);
                    #p::stay(self, engine, actor, __W::NAME, change).map(Item::__seal)
                }

                /// Releases the hold `hold`; the item stays in `W`.
                pub fn release_hold<__S: #p::Store>(
                    self,
                    engine: &#p::Engine<__S>,
                    actor: &#p::Actor,
                    hold: &str,
                ) -> ::core::result::Result<Self, #p::MoveError<Self>> {
                    #p::stay(self, engine, actor, __W::NAME, #p::Stay::Release(hold)).map(Item::__seal)
                }

                /// Changes the item's fields by a merge patch; the item stays in `W`.
                pub fn update_fields<__S: #p::Store>(
                    self,
                    engine: &#p::Engine<__S>,
                    actor: &#p::Actor,
                    patch: #p::Value,
                ) -> ::core::result::Result<Self, #p::MoveError<Self>> {
                    #p::stay(self, engine, actor, __W::NAME, #p::Stay::Update(patch)).map(Item::__seal)
                }

                /// The item as the store holds it now, typed by where it is now (another
                /// writer may have moved it).
                pub fn refresh<__S: #p::Store>(
                    &self,
                    engine: &#p::Engine<__S>,
                ) -> ::core::result::Result<AnyItem, #p::Error> {
                    AnyItem::load(engine, self.inner.id())
                }
            }

            /// The roles the file declares.
            pub mod roles {
                #role_consts
            }

            /// The holds the file declares.
            pub mod holds {
                #hold_consts
            }

            /// The checks the file names, by name.
            pub mod checks {
                #check_consts
            }

            /// The functions for the checks the file names, registered by methods named
            /// after them, so a misspelt check does not compile:
            /// `Checks::new().some_check(|cx| …)`. Pass it to `EngineBuilder::checks`; a
            /// check left out is refused when the engine is built.
            #[derive(Debug, Default)]
            pub struct Checks(#p::Checks);

            impl Checks {
                /// No check registered yet.
                pub fn new() -> Self {
                    Checks(#p::Checks::new())
                }

                #(#check_methods)*
            }

            impl ::core::convert::From<Checks> for #p::Checks {
                fn from(checks: Checks) -> Self {
                    checks.0
                }
            }

            #[doc = ::core::concat!("Creates an item in `", #initial_name, "` with these fields.")]
            pub fn create<__S: #p::Store>(
                engine: &#p::Engine<__S>,
                actor: &#p::Actor,
                fields: #p::Value,
            ) -> ::core::result::Result<Item<#initial>, #p::Error> {
                create_with(engine, actor, #p::NewItem::of(NAME).fields(fields))
            }

            /// Creates an item as `new` says (a parent, a reason, a payload). `new` must name
            /// this workflow; the item gets the compiled version, and the engine must have
            /// loaded exactly the compiled definition.
            pub fn create_with<__S: #p::Store>(
                engine: &#p::Engine<__S>,
                actor: &#p::Actor,
                new: #p::NewItem<'_>,
            ) -> ::core::result::Result<Item<#initial>, #p::Error> {
                #p::create(engine, actor, &COMPILED, new).map(Item::__seal)
            }

            #(#methods)*

            /// An item of this workflow whose workstation is known only at run time:
            /// `match` on it to get the typed item.
            #[derive(Debug)]
            pub enum AnyItem {
                #(
                    #[doc = #variant_docs]
                    #types(Item<#types>),
                )*
            }

            impl AnyItem {
                /// Reads an item, checking that it belongs to this workflow, version and
                /// definition.
                pub fn load<__S: #p::Store>(
                    engine: &#p::Engine<__S>,
                    id: #p::ItemId,
                ) -> ::core::result::Result<Self, #p::Error> {
                    Self::sort(#p::load(engine, id, &COMPILED)?)
                }

                /// Types an item read through the dynamic API, checking it as
                /// [`load`](Self::load) does.
                pub fn from_item(item: #p::Item) -> ::core::result::Result<Self, #p::Error> {
                    Self::sort(#p::adopt(item, &COMPILED)?)
                }

                fn sort(item: #p::Item) -> ::core::result::Result<Self, #p::Error> {
                    match item.workstation() {
                        #(
                            #workstation_names => ::core::result::Result::Ok(
                                AnyItem::#types(Item::__seal(item)),
                            ),
                        )*
                        _ => ::core::result::Result::Err(#p::unknown_workstation(item)),
                    }
                }

                /// The name of the item's workstation.
                pub fn workstation(&self) -> &'static str {
                    match self {
                        #( AnyItem::#types(_) => #workstation_names, )*
                    }
                }

                /// The item's current state.
                pub fn item(&self) -> &#p::Item {
                    match self {
                        #( AnyItem::#types(item) => item, )*
                    }
                }

                /// The item, untyped.
                pub fn into_item(self) -> #p::Item {
                    match self {
                        #( AnyItem::#types(item) => <Item<#types> as #p::Typed>::into_item(item), )*
                    }
                }
            }
        }
    }
}

/// Compile errors on the path literal, and a stub module so that only our errors show.
pub(crate) fn failure(input: &Input, tracked: &[String], messages: &[String]) -> TokenStream {
    let Input {
        attrs, vis, name, ..
    } = input;
    let span: Span = input.path.span();
    let errors = messages
        .iter()
        .map(|m| quote_spanned!(span=> ::core::compile_error!(#m);));
    let track = tracked.iter().map(|a| {
        quote!(
            const _: &[u8] = ::core::include_bytes!(#a);
        )
    });
    quote! {
        #(#errors)*
        #(#attrs)*
        #vis mod #name {
            #(#track)*
        }
    }
}
