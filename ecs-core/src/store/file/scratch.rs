//! [`Scratch`]: a redb storage backend that reads a file and keeps every write in memory,
//! so that a file can be opened (and repaired, and checked) as redb would open it,
//! without changing one byte of it.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

const BLOCK: u64 = 4096;

/// Reads from the file below the length it had (and has not been cut to since); reads
/// every byte written since from memory. Takes the file's locks as a writer would, so
/// that a file open elsewhere is refused as it would be.
#[derive(Debug)]
pub(super) struct Scratch {
    /// Reads and locks only: never written, resized or synced.
    file: FileBackend,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The length redb sees.
    len: u64,
    /// Bytes of the file at or past this offset read as zeros (the storage was cut
    /// shorter, then grown again).
    file_len: u64,
    /// Written blocks, by index.
    blocks: HashMap<u64, Box<[u8]>>,
}

impl Scratch {
    pub(super) fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file: FileBackend::new(file).map_err(io::Error::other)?,
            state: Mutex::new(State {
                len,
                file_len: len,
                blocks: HashMap::new(),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fills `out` with the file's bytes from `offset`, zeros past `file_len`.
    fn read_file(&self, file_len: u64, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let available = file_len.saturating_sub(offset).min(out.len() as u64) as usize;
        let (from_file, zeros) = out.split_at_mut(available);
        if !from_file.is_empty() {
            self.file.read(offset, from_file)?;
        }
        zeros.fill(0);
        Ok(())
    }
}

impl StorageBackend for Scratch {
    fn len(&self) -> io::Result<u64> {
        Ok(self.state().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let state = self.state();
        let end = offset
            .checked_add(out.len() as u64)
            .filter(|end| *end <= state.len)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "read of {} bytes at {offset} past the end ({})",
                        out.len(),
                        state.len
                    ),
                )
            })?;
        let mut at = offset;
        while at < end {
            let block = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let n = ((BLOCK - at % BLOCK).min(end - at)) as usize;
            let dest = &mut out[(at - offset) as usize..][..n];
            match state.blocks.get(&block) {
                Some(bytes) => dest.copy_from_slice(&bytes[within..within + n]),
                None => self.read_file(state.file_len, at, dest)?,
            }
            at += n as u64;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.state();
        if len < state.len {
            state.file_len = state.file_len.min(len);
            state.blocks.retain(|block, _| block * BLOCK < len);
            if let Some(bytes) = state.blocks.get_mut(&(len / BLOCK)) {
                bytes[(len % BLOCK) as usize..].fill(0);
            }
        }
        state.len = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.state();
        let end = offset + data.len() as u64;
        let mut at = offset;
        while at < end {
            let block = at / BLOCK;
            let within = (at % BLOCK) as usize;
            let n = ((BLOCK - at % BLOCK).min(end - at)) as usize;
            if !state.blocks.contains_key(&block) {
                let mut bytes = vec![0; BLOCK as usize].into_boxed_slice();
                let start = block * BLOCK;
                let valid = state.len.saturating_sub(start).min(BLOCK) as usize;
                self.read_file(state.file_len, start, &mut bytes[..valid])?;
                state.blocks.insert(block, bytes);
            }
            let bytes = state.blocks.get_mut(&block).expect("inserted above");
            bytes[within..within + n].copy_from_slice(&data[(at - offset) as usize..][..n]);
            at += n as u64;
        }
        state.len = state.len.max(end);
        Ok(())
    }

    fn close(&self) -> io::Result<()> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_stay_in_memory_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let original: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
        std::fs::write(&path, &original).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let s = Scratch::new(file).unwrap();
        let mut model = original.clone();

        s.write(4090, &[7; 20]).unwrap();
        model[4090..4110].fill(7);
        s.set_len(12_000).unwrap();
        model.resize(12_000, 0);
        s.write(11_990, &[9; 20]).unwrap();
        model.resize(12_010, 0);
        model[11_990..].fill(9);
        let mut out = vec![0; model.len()];
        s.read(0, &mut out).unwrap();
        assert_eq!(out, model);

        // Cut, then grow: the cut bytes read as zeros, the file's and the written alike.
        s.set_len(4100).unwrap();
        model.truncate(4100);
        s.set_len(9000).unwrap();
        model.resize(9000, 0);
        let mut out = vec![0; model.len()];
        s.read(0, &mut out).unwrap();
        assert_eq!(out, model);
        assert!(s.read(8990, &mut [0; 20]).is_err());

        drop(s);
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }
}
