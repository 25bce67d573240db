//! The derive's intermediate form: the container, its variants and fields with their
//! attributes, parsed and validated, every error collected.

use proc_macro2::Span;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Member, Path, Token, Type, WherePredicate};

/// Collects errors so that all of them are reported at once.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.combined.map_or(Ok(()), Err)
    }
}

/// How the type describes its values for graph labels.
pub(crate) enum Describe {
    Debug,
    With(Path),
}

/// The type being derived for.
pub(crate) struct Container<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) crate_path: Option<Path>,
    /// The span of `finalize` in `#[trace(finalize)]`, when present.
    pub(crate) finalize: Option<Span>,
    pub(crate) describe: Option<Describe>,
    pub(crate) always_tracked: bool,
    /// `#[trace(bound = "...")]`: the impl's bounds, instead of `T: Trace` for every type
    /// parameter.
    pub(crate) bound: Option<Vec<WherePredicate>>,
    pub(crate) body: Body<'a>,
}

pub(crate) enum Body<'a> {
    Struct(Variant<'a>),
    Enum(Vec<Variant<'a>>),
}

/// A struct's fields, or one enum variant's.
pub(crate) struct Variant<'a> {
    /// `None` for a struct.
    pub(crate) ident: Option<&'a Ident>,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Named,
    Tuple,
    Unit,
}

pub(crate) struct Field<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) skip: bool,
    /// `#[trace(flatten)]`: the field's edges are labelled as the value's own, without the
    /// field's name.
    pub(crate) flatten: bool,
}

impl Field<'_> {
    /// The edge label of the field: its name or its tuple index.
    pub(crate) fn label(&self) -> String {
        match &self.member {
            Member::Named(ident) => ident.to_string().trim_start_matches("r#").to_owned(),
            Member::Unnamed(index) => index.index.to_string(),
        }
    }
}

impl<'a> Container<'a> {
    pub(crate) fn parse(input: &'a DeriveInput) -> Result<Self, syn::Error> {
        let mut errors = Errors::default();
        for param in input.generics.lifetimes() {
            errors.at(
                param.lifetime.span(),
                "#[derive(Trace)] does not support lifetime parameters: heap values are 'static \
                 and cannot borrow; own the data or hold it in a Gc",
            );
        }
        let mut container = Container {
            input,
            crate_path: None,
            finalize: None,
            describe: None,
            always_tracked: false,
            bound: None,
            body: Body::Struct(Variant { ident: None, style: Style::Unit, fields: Vec::new() }),
        };
        container.parse_attrs(&mut errors);
        container.body = match &input.data {
            Data::Struct(data) => Body::Struct(Variant::parse(None, &data.fields, &mut errors)),
            Data::Enum(data) => Body::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        for attr in variant.attrs.iter().filter(|a| a.path().is_ident("trace")) {
                            errors.at(
                                attr.path().span(),
                                "#[trace(...)] has no options for enum variants; put it on fields",
                            );
                        }
                        Variant::parse(Some(&variant.ident), &variant.fields, &mut errors)
                    })
                    .collect(),
            ),
            Data::Union(data) => {
                errors.at(
                    data.union_token.span,
                    "#[derive(Trace)] does not support unions: the heap cannot know which field \
                     is live; use an enum",
                );
                Body::Struct(Variant { ident: None, style: Style::Unit, fields: Vec::new() })
            }
        };
        container.reject_packed_fields(&mut errors);
        container.reject_cells_of_handles(&mut errors);
        errors.finish().map(|()| container)
    }

    /// A `Cell` is traced only when its value is `Copy`, and no handle is: a traced
    /// `Cell<Option<Gc<T>>>` (how `Rc` links are often written) would fail with rustc's
    /// "`Gc<T>: Copy` is not satisfied", which names neither the cause nor the fix.
    fn reject_cells_of_handles(&self, errors: &mut Errors) {
        let variants: Vec<&Variant<'_>> = match &self.body {
            Body::Struct(variant) => vec![variant],
            Body::Enum(variants) => variants.iter().collect(),
        };
        for (_, field) in variants.iter().flat_map(|variant| variant.traced()) {
            if let Some((cell, handle)) = cell_of_handle(field.ty) {
                errors.at(
                    cell.span(),
                    format!(
                        "a `Cell` cannot hold a `{handle}` here: `Cell<T>` is traced only when `T` is `Copy`, \
                         and a `{handle}` is not (it counts its clones); use a `RefCell` in its place \
                         (`RefCell<Option<{handle}<..>>>` for a link that may be empty), or a `OnceCell` for \
                         a value set once"
                    ),
                );
            }
        }
    }

    /// A packed type's fields may be unaligned, and tracing borrows each traced field.
    fn reject_packed_fields(&self, errors: &mut Errors) {
        let Body::Struct(variant) = &self.body else { return };
        for attr in self.input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
            // rustc itself checks the rest of `repr`, and reports its malformed forms.
            let _ = attr.parse_nested_meta(|meta| {
                if meta.input.peek(syn::token::Paren) {
                    meta.input.parse::<proc_macro2::Group>()?;
                }
                if meta.path.is_ident("packed") && variant.traced().next().is_some() {
                    errors.at(
                        meta.path.span(),
                        "#[derive(Trace)] cannot trace the fields of a #[repr(packed)] struct: \
                             a packed field may be unaligned and cannot be borrowed; remove \
                             `packed`, or mark every field #[trace(skip)] if none holds a Gc",
                    );
                }
                Ok(())
            });
        }
    }

    fn parse_attrs(&mut self, errors: &mut Errors) {
        let input = self.input;
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("trace")) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("crate") {
                    // `crate = path`, or serde's spelling, `crate = "path"`.
                    let value = meta.value()?;
                    let path: Path =
                        if value.peek(syn::LitStr) { value.parse::<syn::LitStr>()?.parse()? } else { value.parse()? };
                    if self.crate_path.replace(path).is_some() {
                        errors.at(meta.path.span(), "duplicate #[trace(crate = ...)]");
                    }
                } else if meta.path.is_ident("finalize") {
                    flag_without_value(&meta, "finalize", errors)?;
                    if self.finalize.replace(meta.path.span()).is_some() {
                        errors.at(meta.path.span(), "duplicate #[trace(finalize)]");
                    }
                } else if meta.path.is_ident("describe") {
                    let describe = if meta.input.peek(syn::Token![=]) {
                        Describe::With(meta.value()?.parse()?)
                    } else {
                        Describe::Debug
                    };
                    if self.describe.replace(describe).is_some() {
                        errors.at(meta.path.span(), "duplicate #[trace(describe)]");
                    }
                } else if meta.path.is_ident("tracked") {
                    flag_without_value(&meta, "tracked", errors)?;
                    if std::mem::replace(&mut self.always_tracked, true) {
                        errors.at(meta.path.span(), "duplicate #[trace(tracked)]");
                    }
                } else if meta.path.is_ident("bound") {
                    let text: LitStr = meta.value()?.parse()?;
                    let predicates = text.parse_with(Punctuated::<WherePredicate, Token![,]>::parse_terminated)?;
                    if self.bound.replace(predicates.into_iter().collect()).is_some() {
                        errors.at(meta.path.span(), "duplicate #[trace(bound = ...)]");
                    }
                } else if meta.path.is_ident("skip") {
                    errors.at(meta.path.span(), "#[trace(skip)] belongs on a field, not on the type");
                } else {
                    errors.at(
                        meta.path.span(),
                        format!(
                            "unknown #[trace] option `{}`: expected `crate = path`, `finalize`, \
                             `describe`, `describe = path`, `tracked` or `bound = \"...\"`",
                            path_text(&meta.path)
                        ),
                    );
                }
                Ok(())
            });
            if let Err(error) = result {
                errors.push(error);
            }
        }
    }
}

impl<'a> Variant<'a> {
    fn parse(ident: Option<&'a Ident>, fields: &'a Fields, errors: &mut Errors) -> Self {
        let style = match fields {
            Fields::Named(_) => Style::Named,
            Fields::Unnamed(_) => Style::Tuple,
            Fields::Unit => Style::Unit,
        };
        let fields = fields
            .iter()
            .enumerate()
            .map(|(index, field)| {
                let member = match &field.ident {
                    Some(ident) => Member::Named(ident.clone()),
                    None => Member::Unnamed(syn::Index { index: index as u32, span: field.ty.span() }),
                };
                let (mut skip, mut flatten) = (false, false);
                for attr in field.attrs.iter().filter(|a| a.path().is_ident("trace")) {
                    let result = attr.parse_nested_meta(|meta| {
                        if meta.path.is_ident("skip") {
                            flag_without_value(&meta, "skip", errors)?;
                            if std::mem::replace(&mut skip, true) {
                                errors.at(meta.path.span(), "duplicate #[trace(skip)]");
                            }
                        } else if meta.path.is_ident("flatten") {
                            flag_without_value(&meta, "flatten", errors)?;
                            if std::mem::replace(&mut flatten, true) {
                                errors.at(meta.path.span(), "duplicate #[trace(flatten)]");
                            }
                        } else {
                            errors.at(
                                meta.path.span(),
                                format!(
                                    "unknown #[trace] option `{}` on a field: expected `skip` or `flatten`",
                                    path_text(&meta.path)
                                ),
                            );
                        }
                        Ok(())
                    });
                    if let Err(error) = result {
                        errors.push(error);
                    }
                }
                if skip && flatten {
                    errors.at(field.ty.span(), "a #[trace(skip)] field has no edges to flatten");
                }
                // A function pointer holds nothing to trace, and one with reference arguments
                // (`fn(&str) -> String`, higher-ranked) has no `Trace` impl: not traced.
                let skip = skip || (!flatten && is_function_pointer(&field.ty));
                Field { member, ty: &field.ty, skip, flatten }
            })
            .collect();
        Variant { ident, style, fields }
    }

    pub(crate) fn traced(&self) -> impl Iterator<Item = (usize, &Field<'a>)> {
        self.fields.iter().enumerate().filter(|(_, field)| !field.skip)
    }
}

/// Whether `ty` is a function pointer (`fn(&Request) -> Response`), in parentheses or not.
fn is_function_pointer(ty: &Type) -> bool {
    match ty {
        Type::BareFn(_) => true,
        Type::Group(group) => is_function_pointer(&group.elem),
        Type::Paren(paren) => is_function_pointer(&paren.elem),
        _ => false,
    }
}

fn path_text(path: &Path) -> String {
    path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::")
}

/// Whether `ty` names the type itself other than behind a `Gc`, `Weak` or `GcAny` (which
/// are tracked whatever they point to). Asking such a field whether it is tracked would
/// make the compiler evaluate the type's own answer while computing it.
pub(crate) fn mentions_self(ty: &Type, own: &Ident) -> bool {
    use syn::visit::Visit;

    struct Finder<'i> {
        own: &'i Ident,
        found: bool,
    }

    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            if segment.ident == *self.own || segment.ident == "Self" {
                self.found = true;
            }
            if matches!(segment.ident.to_string().as_str(), "Gc" | "Weak" | "GcAny") {
                return;
            }
            syn::visit::visit_path_segment(self, segment);
        }
    }

    let mut finder = Finder { own, found: false };
    finder.visit_type(ty);
    finder.found
}

/// The `Cell` segment of a type that is a `Cell` holding a handle (`Gc`, `Weak`, `GcAny`)
/// somewhere in its value, with the handle's name.
fn cell_of_handle(ty: &Type) -> Option<(&Ident, String)> {
    use syn::visit::Visit;

    struct Finder(Option<String>);

    impl<'ast> Visit<'ast> for Finder {
        fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
            let name = segment.ident.to_string();
            if matches!(name.as_str(), "Gc" | "Weak" | "GcAny") {
                self.0.get_or_insert(name);
            }
            syn::visit::visit_path_segment(self, segment);
        }
    }

    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Cell" {
        return None;
    }
    let mut finder = Finder(None);
    finder.visit_path_arguments(&last.arguments);
    finder.0.map(|handle| (&last.ident, handle))
}

/// Reports a value given to an option that is a flag (`finalize = f`, `skip = true`,
/// `tracked(x)`), and skips it, so that the message names the misuse rather than the token
/// after the option's name.
fn flag_without_value(meta: &syn::meta::ParseNestedMeta<'_>, name: &str, errors: &mut Errors) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(());
    }
    let hint = if name == "finalize" { ": implement `Finalize` for the type, which gives the function" } else { "" };
    errors.at(meta.input.span(), format!("#[trace({name})] takes no value; write it alone{hint}"));
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}
