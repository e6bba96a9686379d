//! Host-configurable limits (R4.2, R4.4).

/// The default size limit of one tier in bytes of compact JSON (R4.1).
pub const DEFAULT_TIER_BYTES: usize = 8192;
/// The default deepest nesting of objects and arrays in one tier, the tier object counting as 1.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// The ceiling on [`Limits::max_depth`]: the JSON parser refuses deeper input on its own.
pub const MAX_DEPTH_CEILING: usize = 100;

/// Limits applied to every tier value.
///
/// ```
/// use metadata_core::Limits;
/// let limits = Limits::default().with_tier_bytes(16 * 1024);
/// assert_eq!(limits.tier_bytes(), 16384);
/// assert_eq!(limits.max_input_bytes(), 8 * 16384);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    tier_bytes: usize,
    max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            tier_bytes: DEFAULT_TIER_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

impl Limits {
    /// Sets the size limit of one tier (R4.2).
    pub const fn with_tier_bytes(mut self, bytes: usize) -> Self {
        self.tier_bytes = bytes;
        self
    }

    /// Sets the deepest nesting allowed, capped at [`MAX_DEPTH_CEILING`].
    pub const fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = if depth > MAX_DEPTH_CEILING {
            MAX_DEPTH_CEILING
        } else {
            depth
        };
        self
    }

    /// The size limit of one tier, in bytes of compact JSON.
    pub const fn tier_bytes(&self) -> usize {
        self.tier_bytes
    }

    /// The deepest nesting allowed.
    pub const fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// The longest raw input accepted before parsing: eight times the tier limit, so that
    /// pretty-printed JSON within the limit parses, and a huge body is refused unread (R4.4).
    pub const fn max_input_bytes(&self) -> usize {
        self.tier_bytes.saturating_mul(8)
    }

    /// Refuses input of `len` bytes over `limit` before it is read (R4.4).
    pub(crate) fn check_input(len: usize, limit: usize) -> Result<(), crate::MetadataError> {
        if len > limit {
            return Err(crate::MetadataError::InputTooLarge { len, limit });
        }
        Ok(())
    }
}
