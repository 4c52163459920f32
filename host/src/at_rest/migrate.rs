//! Sealing plain files from before in place: `serve` runs it over its
//! typed and webhook secrets when it starts (records and token files are
//! re-written sealed by their owners when first read).

use std::path::Path;

use zeroize::Zeroizing;

use super::{file_binding, AtRest, AtRestError};

impl AtRest {
    /// Seals every plain file below `dir` (none with `key = "plain"`; lock
    /// files and temporary files are left alone); how many it sealed. A
    /// missing `dir` has none.
    ///
    /// # Errors
    ///
    /// An [`AtRestError`] naming the first file that could not be sealed.
    pub async fn seal_plain_files(&self, dir: &Path) -> Result<usize, AtRestError> {
        if self.is_plain() {
            return Ok(0);
        }
        let mut sealed = 0;
        let mut pending = vec![dir.to_owned()];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let kind = entry.file_type().map_err(|source| AtRestError::Io {
                    doing: "read",
                    file: path.clone(),
                    source,
                })?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() && !name.ends_with(".lock") && !name.contains(".tmp-") {
                    sealed += usize::from(self.seal_if_plain(&path).await?);
                }
            }
        }
        Ok(sealed)
    }

    async fn seal_if_plain(&self, file: &Path) -> Result<bool, AtRestError> {
        let bytes = Zeroizing::new(std::fs::read(file).map_err(|source| AtRestError::Io {
            doing: "read",
            file: file.to_owned(),
            source,
        })?);
        if super::format::is_sealed(&bytes) {
            return Ok(false);
        }
        self.write(file, &file_binding(file), &bytes).await?;
        Ok(true)
    }
}
