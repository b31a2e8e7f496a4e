//! The one shape of an aggregate: private fields read through getters, a `…Record` with public
//! fields that only a store uses to load one (no check: what was stored was valid), and changes
//! made by the aggregate's own transition methods, written beside it.

/// Declares an aggregate `$name`, its record `$record` (`From<$record> for $name`; its `Debug`
/// shows only the id) and a getter per field. Each field names how it is read:
/// `copy T` (by value), `by_ref T` (`&T`), `string` (`String`, read as `&str`),
/// `option_string` (`Option<String>`, read as `Option<&str>`), `option T` (`Option<T>`, read as
/// `Option<&T>`), `list T` (`Vec<T>`, read as `&[T]`). A field followed by `=> skip` is left
/// out of serialisation.
macro_rules! aggregate {
    (
        $(#[$meta:meta])*
        pub struct $name:ident / $record:ident {
            $(
                $(#[doc = $doc:expr])*
                $field:ident: $kind:ident $($ty:ty)? $(=> $skip:ident)?
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[serde($skip)])?
                pub(crate) $field: $crate::aggregate::aggregate!(@type $kind $($ty)?),
            )+
        }

        #[doc = concat!("A stored [`", stringify!($name), "`], field by field: for stores loading one.")]
        #[derive(Clone)]
        pub struct $record {
            $(
                $(#[doc = $doc])*
                pub $field: $crate::aggregate::aggregate!(@type $kind $($ty)?),
            )+
        }

        impl ::std::fmt::Debug for $record {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($record))
                    .field("id", &self.id)
                    .finish_non_exhaustive()
            }
        }

        impl From<$record> for $name {
            fn from(r: $record) -> Self {
                Self { $($field: r.$field,)+ }
            }
        }

        impl $name {
            $(
                $crate::aggregate::aggregate!(@get [$(#[doc = $doc])*] $field $kind $($ty)?);
            )+
        }
    };
    (@type copy $ty:ty) => { $ty };
    (@type by_ref $ty:ty) => { $ty };
    (@type string) => { String };
    (@type option_string) => { Option<String> };
    (@type option $ty:ty) => { Option<$ty> };
    (@type list $ty:ty) => { Vec<$ty> };
    (@get [$($doc:tt)*] $field:ident copy $ty:ty) => {
        $($doc)* pub fn $field(&self) -> $ty { self.$field }
    };
    (@get [$($doc:tt)*] $field:ident by_ref $ty:ty) => {
        $($doc)* pub fn $field(&self) -> &$ty { &self.$field }
    };
    (@get [$($doc:tt)*] $field:ident string) => {
        $($doc)* pub fn $field(&self) -> &str { &self.$field }
    };
    (@get [$($doc:tt)*] $field:ident option_string) => {
        $($doc)* pub fn $field(&self) -> Option<&str> { self.$field.as_deref() }
    };
    (@get [$($doc:tt)*] $field:ident option $ty:ty) => {
        $($doc)* pub fn $field(&self) -> Option<&$ty> { self.$field.as_ref() }
    };
    (@get [$($doc:tt)*] $field:ident list $ty:ty) => {
        $($doc)* pub fn $field(&self) -> &[$ty] { &self.$field }
    };
}

pub(crate) use aggregate;
