//! The impl's bounds, read from the traced fields as serde_derive reads its own: a type
//! parameter that a traced field holds must be `Trace`; one used only behind `Gc`, `Weak` or
//! `PhantomData` (which are `Trace` for any `'static` type), as the weakly held objects of a
//! weak container (`WeakSet<T>`, `WeakProxy<T>`, a `WeakKeyDictionary`'s keys, a
//! `WeakValueDictionary`'s values), only in skipped fields or only
//! through one of its associated types needs just `'static`, as every `Trace` type is; an
//! associated type a traced field holds (`I::Item`) must be `Trace` itself.

use std::collections::HashSet;

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit::Visit;
use syn::{Ident, Type, TypePath, WherePredicate, parse_quote};

use crate::ast::{Body, Container, Variant};

/// What the traced fields' types ask of the type parameters.
pub(crate) struct Inferred {
    /// Type parameters a traced field holds itself.
    traced_params: HashSet<Ident>,
    /// Associated types of type parameters (`I::Item`, `<T as Tr>::Out`) a traced field holds.
    associated: Vec<Type>,
    /// A traced field's type is a macro call, which cannot be read: every parameter is
    /// bounded.
    opaque: bool,
}

impl Inferred {
    pub(crate) fn read(container: &Container<'_>) -> Self {
        let params: HashSet<&Ident> = container.input.generics.type_params().map(|param| &param.ident).collect();
        let mut uses = Uses {
            params: &params,
            inferred: Inferred { traced_params: HashSet::new(), associated: Vec::new(), opaque: false },
        };
        let variants: Vec<&Variant<'_>> = match &container.body {
            Body::Struct(variant) => vec![variant],
            Body::Enum(variants) => variants.iter().collect(),
        };
        for (_, field) in variants.iter().flat_map(|variant| variant.traced()) {
            uses.visit_type(field.ty);
        }
        uses.inferred
    }

    /// The bound of type parameter `param`: `Trace` when a traced field needs it, `'static`
    /// otherwise.
    pub(crate) fn param_bound(&self, param: &Ident, krate: &TokenStream) -> syn::TypeParamBound {
        if self.opaque || self.traced_params.contains(param) {
            parse_quote!(#krate::Trace)
        } else {
            parse_quote!('static)
        }
    }

    /// `I::Item: Trace` for each associated type a traced field holds.
    pub(crate) fn associated_predicates<'s>(
        &'s self,
        krate: &'s TokenStream,
    ) -> impl Iterator<Item = WherePredicate> + 's {
        self.associated.iter().map(move |ty| parse_quote!(#ty: #krate::Trace))
    }
}

struct Uses<'p> {
    params: &'p HashSet<&'p Ident>,
    inferred: Inferred,
}

impl Uses<'_> {
    fn mentions_param(&self, ty: &Type) -> bool {
        let mut inner = Uses {
            params: self.params,
            inferred: Inferred { traced_params: HashSet::new(), associated: Vec::new(), opaque: false },
        };
        inner.visit_type(ty);
        !inner.inferred.traced_params.is_empty() || !inner.inferred.associated.is_empty() || inner.inferred.opaque
    }

    fn push_associated(&mut self, ty: &TypePath) {
        let ty = Type::Path(ty.clone());
        let text = quote!(#ty).to_string();
        if !self.inferred.associated.iter().any(|known| quote!(#known).to_string() == text) {
            self.inferred.associated.push(ty);
        }
    }
}

impl<'ast> Visit<'ast> for Uses<'_> {
    fn visit_type_path(&mut self, ty: &'ast TypePath) {
        let path = &ty.path;
        if let Some(qself) = &ty.qself {
            if self.mentions_param(&qself.ty) {
                return self.push_associated(ty);
            }
        } else if path.leading_colon.is_none()
            && path.segments.len() > 1
            && self.params.contains(&path.segments[0].ident)
        {
            return self.push_associated(ty);
        } else if let Some(ident) = path.get_ident()
            && self.params.contains(ident)
        {
            self.inferred.traced_params.insert(ident.clone());
            return;
        }
        syn::visit::visit_type_path(self, ty);
    }

    fn visit_path_segment(&mut self, segment: &'ast syn::PathSegment) {
        // Which of the segment's type arguments its `Trace` impl traces: all of them for
        // most types; none for `Trace` of any `'static` content (handles, and the weak
        // containers of `weak-collections` for their weakly held objects), whose arguments
        // ask nothing of the parameters; for a weak map, only what it holds strongly (a
        // `WeakKeyDictionary`'s values, a `WeakValueDictionary`'s keys).
        let traced: &[usize] = match segment.ident.to_string().as_str() {
            "Gc" | "Weak" | "PhantomData" | "WeakSet" | "WeakProxy" => &[],
            "WeakKeyDictionary" => &[1],
            "WeakValueDictionary" => &[0],
            _ => return syn::visit::visit_path_segment(self, segment),
        };
        if let syn::PathArguments::AngleBracketed(arguments) = &segment.arguments {
            let types = arguments.args.iter().filter_map(|argument| match argument {
                syn::GenericArgument::Type(ty) => Some(ty),
                _ => None,
            });
            for (index, ty) in types.enumerate() {
                if traced.contains(&index) {
                    self.visit_type(ty);
                }
            }
        }
    }

    // A function pointer is `Trace` whatever its argument and return types.
    fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}

    fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
        self.inferred.opaque = true;
    }
}
