//! The journal entry's encoding: a count, then per write the key, a tag
//! (1 insert, 0 remove) and the value, lengths as little-endian u32.

use super::overlay::Writes;

/// The entry for `writes`.
pub fn encode(writes: &Writes) -> Vec<u8> {
    let size: usize = writes
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&(writes.len() as u32).to_le_bytes());
    for (k, v) in writes {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k);
        match v {
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_le_bytes());
                out.extend_from_slice(v);
            }
            None => out.push(0),
        }
    }
    out
}

/// The writes of an entry.
///
/// Fails, saying how, when the entry is cut short or damaged.
pub fn decode(mut bytes: &[u8]) -> Result<Writes, String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err("entry is truncated".to_string());
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Ok(head)
    }
    fn len(bytes: &mut &[u8]) -> Result<usize, String> {
        let b = take(bytes, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    let count = len(&mut bytes)?;
    let mut writes = Writes::new();
    for _ in 0..count {
        let klen = len(&mut bytes)?;
        let key = take(&mut bytes, klen)?.to_vec();
        let value = match take(&mut bytes, 1)?[0] {
            0 => None,
            1 => {
                let vlen = len(&mut bytes)?;
                Some(take(&mut bytes, vlen)?.to_vec())
            }
            t => return Err(format!("unknown tag {t}")),
        };
        writes.insert(key, value);
    }
    if !bytes.is_empty() {
        return Err("trailing bytes".to_string());
    }
    Ok(writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entries_round_trip_and_damage_is_detected() {
        let mut w = Writes::new();
        w.insert(b"r/lead/1".to_vec(), Some(b"{}".to_vec()));
        w.insert(b"i/x".to_vec(), None);
        w.insert(b"empty".to_vec(), Some(Vec::new()));
        let bytes = encode(&w);
        assert_eq!(decode(&bytes), Ok(w));
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer).is_err());
    }
}
