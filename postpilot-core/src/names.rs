//! Enumerations with stable names: the name each value has in the API and in storage, every value
//! in declaration order, and parsing that names the field and lists the accepted names.

/// Implements, for a field-less enum, `ALL` (every value in the order given), `as_str` (its
/// stable name), `Display` (the name) and `FromStr` (by name, refusing others with a
/// [`ValidationError`](crate::ValidationError) on `field` that lists every name). `exact` parsing
/// takes the name only as written; `lenient` also takes surrounding spaces and any letter case
/// (for names people type, such as `Instagram`).
macro_rules! named_enum {
    ($ty:ident, field = $field:literal, $mode:ident {
        $first:ident => $first_name:literal $(, $variant:ident => $name:literal)* $(,)?
    }) => {
        impl $ty {
            /// Every value, in a stable order.
            pub const ALL: [Self; [$first_name $(, $name)*].len()] =
                [Self::$first $(, Self::$variant)*];

            /// The stable name (API and storage).
            pub const fn as_str(self) -> &'static str {
                match self {
                    Self::$first => $first_name,
                    $(Self::$variant => $name,)*
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|value| $crate::names::named_enum!(@matches $mode, value.as_str(), s))
                    .ok_or_else(|| {
                        $crate::ValidationError::new(
                            $field,
                            concat!("must be one of ", $first_name $(, ", ", $name)*),
                        )
                    })
            }
        }
    };
    (@matches exact, $name:expr, $input:expr) => {
        $name == $input
    };
    (@matches lenient, $name:expr, $input:expr) => {
        $name.eq_ignore_ascii_case($input.trim())
    };
}

pub(crate) use named_enum;

/// Parses a list of names into a set: sorted, without repeats, refusing an unknown name.
///
/// # Errors
/// A name is not one of `T`'s.
pub(crate) fn parse_set<T, I, S>(names: I) -> Result<Vec<T>, crate::ValidationError>
where
    T: std::str::FromStr<Err = crate::ValidationError> + Ord,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut set: Vec<T> = names
        .into_iter()
        .map(|n| n.as_ref().parse())
        .collect::<Result<_, _>>()?;
    set.sort();
    set.dedup();
    Ok(set)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, unreachable_pub)]

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Colour {
        Red,
        DarkBlue,
    }
    named_enum!(Colour, field = "colour", exact { Red => "red", DarkBlue => "dark_blue" });

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Size {
        Small,
    }
    named_enum!(Size, field = "size", lenient { Small => "small" });

    #[test]
    fn every_value_round_trips_through_its_name() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for colour in Colour::ALL {
            assert_eq!(colour.to_string().parse::<Colour>().unwrap(), colour);
        }
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
    }

    #[test]
    fn an_unknown_name_is_refused_on_the_field_listing_every_name() {
        let e = "blue".parse::<Colour>().unwrap_err();
        assert_eq!(
            (e.field(), e.reason()),
            ("colour", "must be one of red, dark_blue")
        );
    }

    #[test]
    fn exact_parsing_refuses_other_cases_and_lenient_parsing_takes_them() {
        assert!("Red".parse::<Colour>().is_err());
        assert!(" red".parse::<Colour>().is_err());
        assert_eq!(" SMALL ".parse::<Size>().unwrap(), Size::Small);
    }
}
