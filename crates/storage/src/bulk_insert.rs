//! Many-row inserts whose statements SQLite parses once.
//!
//! diesel caches the prepared statement of an insert of a fixed-size array (its SQL is known
//! from the type), not of a `Vec` (its SQL depends on the length). An import inserts a million
//! rows; parsing a thousand-row statement for each thousand rows cost about 4% of the
//! time, so whole chunks go in as arrays and only the last, shorter chunk as a `Vec`.

/// Inserts the rows of `$rows` (an iterator of insertable tuples) into `$table` with `$insert`
/// (`diesel::insert_into`, `diesel::insert_or_ignore_into`), `$n` rows per statement. Evaluates
/// to the number of rows inserted; `?` passes a diesel error on.
macro_rules! insert_in_chunks {
    ($conn:expr, $insert:path, $table:expr, $rows:expr, $n:literal) => {{
        let mut rows = $rows.into_iter();
        let mut inserted = 0usize;
        loop {
            let chunk: Vec<_> = rows.by_ref().take($n).collect();
            if chunk.len() < $n {
                if !chunk.is_empty() {
                    inserted += $insert($table).values(chunk).execute($conn)?;
                }
                break;
            }
            let whole: Box<[_; $n]> = match chunk.into_boxed_slice().try_into() {
                Ok(whole) => whole,
                Err(_) => unreachable!("the chunk holds exactly {} rows", $n),
            };
            inserted += $insert($table).values(whole).execute($conn)?;
        }
        inserted
    }};
}

pub(crate) use insert_in_chunks;

/// `Ok` when a bulk insert that ignores refused rows (`INSERT OR IGNORE`, which needs no
/// statement journal, as it cannot fail halfway) inserted all `expected` of them.
pub(crate) fn all_inserted(
    what: &str,
    inserted: usize,
    expected: usize,
) -> Result<(), crate::StorageError> {
    if inserted == expected {
        Ok(())
    } else {
        Err(crate::StorageError::Refused(format!(
            "{} of {expected} {what} were refused",
            expected - inserted
        )))
    }
}
