//! [`Field`]: one count of a statistics struct, so that a report and a sum can go over every
//! count of a group without naming each one.

/// One count of a statistics struct (`S`: [`Stats`](crate::Stats),
/// [`FaultStats`](crate::FaultStats) or [`TlsStats`](crate::TlsStats)): the field's name, its
/// label in text, what it counts, and its value in an `S`. [`Stats::FIELDS`](crate::Stats::FIELDS),
/// [`FaultStats::FIELDS`](crate::FaultStats::FIELDS) and
/// [`TlsStats::FIELDS`](crate::TlsStats::FIELDS) list them all, so a report (a text line, a
/// JSON object, a metrics table) can show every count without naming each one.
///
/// # Examples
///
/// ```
/// use socket_echo::FaultStats;
///
/// let stats = FaultStats::default();
/// for field in FaultStats::FIELDS {
///     println!("{} {} ({})", field.of(&stats), field.label(), field.meaning());
/// }
/// assert_eq!(FaultStats::FIELDS[0].name(), "delayed");
/// ```
#[derive(Debug)]
pub struct Field<S: 'static> {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) meaning: &'static str,
    pub(super) get: fn(&S) -> u64,
    pub(super) at: fn(&mut S) -> &mut u64,
    pub(super) cumulative: bool,
}

impl<S> Clone for Field<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Field<S> {}

impl<S> Field<S> {
    /// The field's name, as in its struct (`"delayed"`).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// How a line of text names it after its count ("closed slowly": `3 closed slowly`).
    pub const fn label(&self) -> &'static str {
        self.label
    }

    /// What it counts, in a few lowercase words without a final stop ("datagram replies
    /// dropped").
    pub const fn meaning(&self) -> &'static str {
        self.meaning
    }

    /// Whether it counts from the start of `serve` (every count but two): false for a figure
    /// of the moment, [`Stats::active`](crate::Stats::active) and
    /// [`Stats::max_connections`](crate::Stats::max_connections).
    pub const fn is_cumulative(&self) -> bool {
        self.cumulative
    }

    /// Its value in `stats`.
    pub fn of(&self, stats: &S) -> u64 {
        (self.get)(stats)
    }
}

/// Adds every count of `fields` in `other` to `into`: the sum of a group, field by field.
pub(super) fn add_all<S>(into: &mut S, other: &S, fields: &[Field<S>]) {
    for field in fields {
        *(field.at)(into) += field.of(other);
    }
}

/// A [`Field`] whose name is the field's own, so the two cannot differ; `now` after the
/// meaning makes it a figure of the moment rather than a count.
macro_rules! field {
    ($name:ident, $label:literal, $meaning:literal) => {
        field!(@ $name, $label, $meaning, true)
    };
    ($name:ident, $label:literal, $meaning:literal, now) => {
        field!(@ $name, $label, $meaning, false)
    };
    (@ $name:ident, $label:literal, $meaning:literal, $cumulative:literal) => {
        $crate::stats::field::Field {
            name: stringify!($name),
            label: $label,
            meaning: $meaning,
            get: |stats| stats.$name,
            at: |stats| &mut stats.$name,
            cumulative: $cumulative,
        }
    };
}

pub(super) use field;
