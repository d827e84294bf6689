//! Files compiled into the binary so it works with no checkout: the seed packs (`seed/`) and the
//! eval fixtures (`eval/`). Read-only views; callers parse them like files on disk and name them
//! `embedded:seed/saas/policy.yaml` in diagnostics.

use include_dir::{include_dir, Dir};

/// `seed/` at build time.
pub static SEED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/seed");

/// `eval/` at build time.
pub static EVAL: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/eval");

/// The contents of an embedded file under `seed/`, e.g. `saas/policy.yaml`.
pub fn seed_file(path: &str) -> Option<&'static [u8]> {
    SEED.get_file(path).map(|f| f.contents())
}

/// The embedded reference policy of the `saas` pack.
pub fn default_policy() -> &'static [u8] {
    seed_file("saas/policy.yaml").unwrap_or_default()
}
